// The AWS half of doctor's cold-start check (commands/doctor-cold-starts.ts): finds the stack's
// log groups (CloudFormation ListStackResources) and reads the REPORT lines that carry an Init
// Duration from each (CloudWatch Logs FilterLogEvents), over the last COLD_START_WINDOW_HOURS.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { importOptionalSdk } from '../lambdas/adapters/apigateway-keys';
import { COLD_START_WINDOW_HOURS, INIT_DURATION_FILTER_PATTERN, initDurationOf, type ColdStarts } from './commands/doctor-cold-starts';

/** Pages read per log group: 10 x up to 10,000 events is far more cold starts than a day has. */
const MAX_PAGES = 10;

/** CDK logical ids end in an 8-character hash: IntakeApiIntakeFunctionLogs1A2B3C4D -> IntakeApiIntakeFunctionLogs. */
const readableName = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

export interface ColdStartLogClients {
  readonly cloudFormation: Pick<CloudFormationClient, 'send'>;
  readonly logs: Pick<CloudWatchLogsClient, 'send'>;
}

export async function readColdStarts(stackName: string, clients: ColdStartLogClients, now = Date.now()): Promise<ColdStarts> {
  const { ListStackResourcesCommand } = await importOptionalSdk('@aws-sdk/client-cloudformation');
  const { FilterLogEventsCommand } = await importOptionalSdk('@aws-sdk/client-cloudwatch-logs');
  const logGroups: { name: string; logGroupName: string }[] = [];
  let next: string | undefined;
  do {
    const page = (await clients.cloudFormation.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: next }))) as {
      StackResourceSummaries?: { ResourceType?: string; LogicalResourceId?: string; PhysicalResourceId?: string }[];
      NextToken?: string;
    };
    for (const resource of page.StackResourceSummaries ?? []) {
      if (resource.ResourceType === 'AWS::Logs::LogGroup' && resource.PhysicalResourceId && resource.LogicalResourceId) {
        logGroups.push({ name: readableName(resource.LogicalResourceId), logGroupName: resource.PhysicalResourceId });
      }
    }
    next = page.NextToken;
  } while (next);

  const coldStarts = new Map<string, number[]>();
  for (const { name, logGroupName } of logGroups) {
    const durations: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = (await clients.logs.send(
        new FilterLogEventsCommand({
          logGroupName,
          startTime: now - COLD_START_WINDOW_HOURS * 3600_000,
          endTime: now,
          filterPattern: INIT_DURATION_FILTER_PATTERN,
          nextToken: token,
        }),
      )) as { events?: { message?: string }[]; nextToken?: string };
      for (const event of page.events ?? []) {
        const duration = initDurationOf(event.message ?? '');
        if (duration !== undefined) durations.push(duration);
      }
      token = page.nextToken;
    } while (token && ++pages < MAX_PAGES);
    // Log groups without REPORT lines (not a function's) are left out.
    if (durations.length > 0) coldStarts.set(name, durations);
  }
  return coldStarts;
}

/** The clients with the operator's credentials, for `doctor --aws`. */
export async function readStackColdStarts(stackName: string, region: string | undefined): Promise<ColdStarts> {
  const { CloudFormationClient } = await importOptionalSdk('@aws-sdk/client-cloudformation');
  const { CloudWatchLogsClient } = await importOptionalSdk('@aws-sdk/client-cloudwatch-logs');
  const config = region ? { region } : {};
  const clients = { cloudFormation: new CloudFormationClient(config), logs: new CloudWatchLogsClient(config) };
  try {
    return await readColdStarts(stackName, clients);
  } finally {
    clients.cloudFormation.destroy();
    clients.logs.destroy();
  }
}
