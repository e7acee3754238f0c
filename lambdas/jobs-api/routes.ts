// The jobs API's routes as data (method and resource below the v1 stage), shared by the
// handler, the CDK intake-api construct and the local gateway; free of handler side effects.
export const JOBS_API_ROUTES = [
  'GET /jobs',
  'GET /jobs/{job_id}',
  'DELETE /jobs/{job_id}',
  'GET /jobs/{job_id}/deliveries',
  'POST /jobs/{job_id}/redeliver',
  'GET /batches/{batch_id}',
  'POST /webhooks/test',
] as const;

export type JobsApiRoute = (typeof JOBS_API_ROUTES)[number];

export const splitRoute = (route: string): { method: string; resource: string } => {
  const [method, resource] = route.split(' ') as [string, string];
  return { method, resource };
};
