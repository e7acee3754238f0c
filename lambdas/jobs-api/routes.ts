// The jobs API's routes (and the callback's one API route) as data (method and resource below the v1 stage), shared by the
// handler, the CDK intake-api construct and the local gateway; free of handler side effects.
export const JOBS_API_ROUTES = [
  'GET /jobs',
  'GET /jobs/{job_id}',
  'DELETE /jobs/{job_id}',
  'GET /jobs/{job_id}/deliveries',
  'POST /jobs/{job_id}/redeliver',
  'GET /batches/{batch_id}',
] as const;

/**
 * POST /v1/webhooks/test runs in the callback function, not the jobs API: it signs with the
 * tenant's signing secret, and only the callback's role may open those (lib/constructs/secret-custody.ts).
 */
export const WEBHOOK_TEST_ROUTE = 'POST /webhooks/test' as const;

export type JobsApiRoute = (typeof JOBS_API_ROUTES)[number];

export const splitRoute = (route: string): { method: string; resource: string } => {
  const [method, resource] = route.split(' ') as [string, string];
  return { method, resource };
};
