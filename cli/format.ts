// CLI output: rows as an aligned table (for people), CSV (for spreadsheets) or JSON (for
// scripts). Cells can hold text from outside (receivers' response bodies, tenant names), so
// control characters never reach the terminal and CSV cells never start a formula.
import { UsageError } from './io';

export const OUTPUT_FORMATS = ['table', 'csv', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseFormat(raw: string | undefined, fallback: OutputFormat = 'table'): OutputFormat {
  if (raw === undefined) return fallback;
  if ((OUTPUT_FORMATS as readonly string[]).includes(raw)) return raw as OutputFormat;
  throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}`);
}

export interface Column {
  readonly key: string;
  readonly header?: string;
  /** Table cells longer than this are cut with an ellipsis; CSV and JSON keep everything. */
  readonly maxWidth?: number;
}

type Row = Record<string, unknown>;

const text = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
};

/** Escapes C0/C1 control characters (ESC sequences could rewrite the operator's terminal). */
export const printable = (value: string): string =>
  value.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));

function tableCell(value: unknown, maxWidth: number | undefined): string {
  const cell = printable(text(value)) || '-';
  return maxWidth !== undefined && cell.length > maxWidth ? `${cell.slice(0, maxWidth - 1)}…` : cell;
}

export function formatTable(rows: readonly Row[], columns: readonly Column[]): string {
  const headers = columns.map((column) => column.header ?? column.key);
  const cells = rows.map((row) => columns.map((column) => tableCell(row[column.key], column.maxWidth)));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: readonly string[]) => values.map((value, i) => value.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** RFC 4180, with formula-looking text cells neutralised (a leading ' ) for spreadsheet safety. */
export function csvCell(value: unknown): string {
  let cell = text(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(cell)) cell = `'${cell}`;
  cell = cell.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

export function formatCsv(rows: readonly Row[], columns: readonly Column[]): string {
  const lines = [columns.map((column) => csvCell(column.header ?? column.key)).join(',')];
  for (const row of rows) lines.push(columns.map((column) => csvCell(row[column.key])).join(','));
  return lines.join('\r\n') + '\r\n';
}

export function formatRows(rows: readonly Row[], columns: readonly Column[], format: OutputFormat): string {
  if (format === 'json') return JSON.stringify(rows, null, 2) + '\n';
  if (format === 'csv') return formatCsv(rows, columns);
  return formatTable(rows, columns);
}
