// Domain: receiver authentication (issue 14). A request's callback_headers (e.g. Authorization)
// are checked against a short allowlist at intake, sealed there (SecretSealer, bound to tenant,
// batch and purpose) and opened by the callback for every attempt and redelivery. The plaintext
// lives only in the intake request and the callback's memory: never stored, returned, logged or
// written to an audit row.
import { CALLBACK_HEADER_NAMES } from './api-schemas';
import { ApiError, type ErrorDetail } from './errors';
import type { SecretSealer } from './ports';
import { SEALING_PURPOSES } from './secret-custody';

export const CALLBACK_HEADERS_PURPOSE = SEALING_PURPOSES.callbackHeaders;

/** Lower-cased names (HTTP header names are case-insensitive); throws callback_header_forbidden. */
export function checkCallbackHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> | null {
  if (headers === undefined) return null;
  const allowed = new Set<string>(CALLBACK_HEADER_NAMES);
  const checked: Record<string, string> = {};
  const forbidden: ErrorDetail[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!allowed.has(lower)) {
      forbidden.push({ path: `callback_headers.${name}`, message: `allowed header names: ${CALLBACK_HEADER_NAMES.join(', ')}` });
    } else if (lower in checked) {
      forbidden.push({ path: `callback_headers.${name}`, message: 'the same header is named twice' });
    } else {
      checked[lower] = value;
    }
  }
  if (forbidden.length > 0) {
    throw new ApiError('callback_header_forbidden', 'callback_headers may only name receiver-authentication headers.', forbidden);
  }
  return Object.keys(checked).length > 0 ? checked : null;
}

/** The encryption context: a sealed value opens only for this tenant's batch, for this purpose. */
export const callbackHeadersContext = (tenantId: string, batchId: string): Record<string, string> => ({
  tenant_id: tenantId,
  batch_id: batchId,
  purpose: CALLBACK_HEADERS_PURPOSE,
});

export function sealCallbackHeaders(
  sealer: SecretSealer,
  tenantId: string,
  batchId: string,
  headers: Readonly<Record<string, string>>,
): Promise<string> {
  return sealer.seal(JSON.stringify(headers), callbackHeadersContext(tenantId, batchId));
}

export async function openCallbackHeaders(
  sealer: SecretSealer,
  tenantId: string,
  batchId: string,
  sealed: string,
): Promise<Record<string, string>> {
  const opened = JSON.parse(await sealer.open(sealed, callbackHeadersContext(tenantId, batchId))) as Record<string, string>;
  // Defence in depth: whatever was sealed, only allowlisted names leave the callback.
  const allowed = new Set<string>(CALLBACK_HEADER_NAMES);
  return Object.fromEntries(Object.entries(opened).filter(([name, value]) => allowed.has(name) && typeof value === 'string'));
}
