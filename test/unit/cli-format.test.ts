import { describe, expect, it } from 'vitest';
import { csvCell, formatCsv, formatRows, formatTable, parseFormat, printable } from '../../cli/format';
import { UsageError } from '../../cli/io';

const columns = [{ key: 'id' }, { key: 'note', maxWidth: 8 }, { key: 'count', header: 'n' }];

describe('table', () => {
  it('aligns columns under their headers, shows missing values as -, cuts long cells', () => {
    const text = formatTable(
      [
        { id: 'a', note: 'short', count: 1 },
        { id: 'longer-id', note: 'a note that is too long', count: null },
      ],
      columns,
    );
    expect(text.split('\n')).toEqual(['id         note      n', 'a          short     1', 'longer-id  a note …  -', '']);
  });

  it('never writes control characters (terminal escape sequences) from stored text', () => {
    const hostile = 'ok\u001b[2J\u001b]0;pwned\u0007\r\nnext';
    const text = formatTable([{ id: hostile }], [{ key: 'id' }]);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(text).toContain('\\u001b[2J');
    expect(printable('a\tb\nc')).toBe('a\\tb\\nc');
  });
});

describe('csv', () => {
  it('quotes per RFC 4180 and renders objects as JSON', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
    expect(csvCell(null)).toBe('');
  });

  it('neutralises text that a spreadsheet would run as a formula, but not numbers', () => {
    expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell(-5)).toBe('-5');
  });

  it('writes a header row and CRLF line ends', () => {
    expect(formatCsv([{ id: 'x', note: 'y', count: 2 }], columns)).toBe('id,note,n\r\nx,y,2\r\n');
  });
});

describe('format choice', () => {
  it('json keeps every field of every row', () => {
    const rows = [{ id: 'x', extra: { deep: true } }];
    expect(JSON.parse(formatRows(rows, columns, 'json'))).toEqual(rows);
  });

  it('accepts table, csv and json only', () => {
    expect(parseFormat(undefined)).toBe('table');
    expect(parseFormat('csv')).toBe('csv');
    expect(() => parseFormat('xml')).toThrow(UsageError);
  });
});
