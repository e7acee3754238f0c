// CLI: argument parsing and dispatch for `npm run metahook -- <group> <command> [options]`.
// Each command parses strictly (a misspelt option is an error, not silently ignored).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AudioLimitRefusedError } from '../lambdas/core/audio-limit';
import { MediaSourceRefusedError, TenantNotFoundError } from '../lambdas/core/manage-tenants';
import { MissingSdkPackageError } from '../lambdas/adapters/apigateway-keys';
import { auditDeliveries, auditJob, parseInstant, parseOutcome } from './commands/audit';
import { formatDoctorReport, runDoctor } from './commands/doctor';
import { runRedrive } from './commands/redrive';
import { printJobTrace } from './commands/trace';
import { doctorDeps } from './doctor-target';
import { runTenantCommand, TENANT_COMMANDS, type TenantCommand } from './commands/tenants';
import { parseFormat } from './format';
import { UsageError, type CliIo } from './io';
import { DEFAULT_STACK_NAME, resolveTarget, TargetUnavailableError, type Target } from './target';

export const USAGE = `Usage: npm run metahook -- <command> [options]

Tenants
  tenants create --name NAME            new tenant; prints its API key and signing secret ONCE
  tenants list                          tenants (never their secrets)
  tenants disable --tenant ID           refuse its API key; hold its queued jobs
  tenants enable --tenant ID            undo disable
  tenants rotate-secret --tenant ID     new signing secret; the previous one keeps signing for 24 h
  tenants seal-secrets [--check]        seal signing secrets stored in plaintext (before sealing existed);
                                        idempotent; --check only counts and exits 1 if any are left
  tenants allow-source --tenant ID --source s3://BUCKET/PREFIX/
                                        let the tenant submit objects under PREFIX of BUCKET (its own
                                        uploads prefix needs no grant; BUCKET must be in allowedSourceBuckets)
  tenants revoke-source --tenant ID --source s3://BUCKET/PREFIX/   undo allow-source
  tenants set-audio-limit --tenant ID --max-seconds N | --clear
                                        longest recording the tenant's jobs may send (at most the deployment's
                                        maxAudioDurationSeconds); longer ones fail with file_too_long

Audit (DynamoDB Queries on documented indexes only)
  audit deliveries --tenant ID --since ISO --until ISO [--outcome delivered|failed]
  audit job JOB_ID --tenant ID          request, state, result and every delivery attempt of one job

Doctor (run right after cdk deploy; also against npm start)
  doctor [--image-model ID] [--audio-model ID]
                                        stack outputs, each model answering a bundled image and audio
                                        file, the alarm topic accepting a test notification and (--aws) each
                                        function's logged Init Duration (24 h, p50 within --init-budget-ms,
                                        default 100); PASS/FAIL + fix
  doctor --e2e-callback URL [--e2e-timeout SECONDS]
                                        also one real job (the bundled PNG, POST /v1/jobs) whose signed
                                        event must reach URL; the tenant key comes from $METAHOOK_API_KEY
                                        (--local: the local stack's tenant); default timeout 120 s

Redrive (dead-letter queue -> source queue, receive/send/delete)
  redrive deliveries|jobs [--dry-run] [--tenant ID] [--job JOB_ID] [--max N]
  redrive jobs --held [--tenant ID] ...  from the held-jobs queue (a disabled tenant's; tenants enable does it)

Trace (local stack; on AWS filter the X-Ray console by annotation.job_id)
  trace JOB_ID                          the job's trace: intake, extractor and callback with their AWS calls

Options for every command
  --local                  the local stack (default when .metahook/local.json exists or METAHOOK_LOCAL=1)
  --aws [--stack NAME]     the deployed CloudFormation stack (default ${DEFAULT_STACK_NAME}, or Metahook-$METAHOOK_STAGE); --region REGION
  --format table|csv|json  output format (default table)
  -h, --help
`;

const COMMON_OPTIONS = {
  local: { type: 'boolean' },
  aws: { type: 'boolean' },
  stack: { type: 'string' },
  region: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const COMMAND_OPTIONS = {
  tenants: {
    name: { type: 'string' },
    tenant: { type: 'string' },
    check: { type: 'boolean' },
    source: { type: 'string' },
    'max-seconds': { type: 'string' },
    clear: { type: 'boolean' },
  },
  audit: { tenant: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, outcome: { type: 'string' } },
  doctor: { 'image-model': { type: 'string' }, 'audio-model': { type: 'string' }, 'e2e-callback': { type: 'string' }, 'e2e-timeout': { type: 'string' }, 'init-budget-ms': { type: 'string' } },
  redrive: { 'dry-run': { type: 'boolean' }, tenant: { type: 'string' }, job: { type: 'string' }, max: { type: 'string' }, held: { type: 'boolean' } },
  trace: {},
} as const satisfies Record<string, ParseArgsConfig['options']>;

type Group = keyof typeof COMMAND_OPTIONS;

function parse(group: Group, args: string[]) {
  try {
    return parseArgs({ args, options: { ...COMMON_OPTIONS, ...COMMAND_OPTIONS[group] }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseMax(raw: string | undefined, flag = '--max'): number | undefined {
  if (raw === undefined) return undefined;
  const max = Number(raw);
  if (!Number.isInteger(max) || max < 1) throw new UsageError(`${flag} must be a whole number of at least 1`);
  return max;
}

/** Runs one command; returns the process exit code (0 done, 1 failed, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [group, ...rest] = argv;
  if (group === undefined || group === '--help' || group === '-h' || group === 'help') {
    io.stdout(USAGE);
    return group === undefined ? 2 : 0;
  }
  let target: Target | undefined;
  try {
    if (!(group in COMMAND_OPTIONS)) throw new UsageError(`unknown command "${group}"`);
    const { values, positionals } = parse(group as Group, rest);
    if (values.help) {
      io.stdout(USAGE);
      return 0;
    }
    const format = parseFormat(values.format);
    const [command, ...operands] = positionals;
    const connect = async () => {
      target = await resolveTarget(values, io);
      return target;
    };
    const noMoreOperands = (allowed: number) => {
      if (operands.length > allowed) throw new UsageError(`unexpected argument "${operands[allowed]}"`);
    };

    if (group === 'tenants') {
      const options = values as typeof values & { name?: string; tenant?: string; check?: boolean; source?: string; 'max-seconds'?: string; clear?: boolean };
      if (!(TENANT_COMMANDS as readonly string[]).includes(command ?? '')) {
        throw new UsageError(`tenants needs one of: ${TENANT_COMMANDS.join(', ')}`);
      }
      noMoreOperands(0);
      if (options.check && command !== 'seal-secrets') throw new UsageError('--check goes with tenants seal-secrets only');
      if ((options['max-seconds'] !== undefined || options.clear) && command !== 'set-audio-limit') {
        throw new UsageError('--max-seconds and --clear go with tenants set-audio-limit only');
      }
      return await runTenantCommand(
        await connect(),
        {
          command: command as TenantCommand,
          format,
          ...(options.name !== undefined ? { name: options.name } : {}),
          ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
          ...(options.check ? { check: true } : {}),
          ...(options.source !== undefined ? { source: options.source } : {}),
          ...(options['max-seconds'] !== undefined ? { maxSeconds: options['max-seconds'] } : {}),
          ...(options.clear ? { clear: true } : {}),
        },
        io,
      );
    }

    if (group === 'trace') {
      if (!command) throw new UsageError('trace needs a job id: trace JOB_ID');
      noMoreOperands(0);
      if (format === 'csv') throw new UsageError('trace prints table or json');
      return printJobTrace(io, command, format) ? 0 : 1;
    }

    if (group === 'doctor') {
      if (command !== undefined) throw new UsageError(`unexpected argument "${command}"`);
      const options = values as typeof values & { 'image-model'?: string; 'audio-model'?: string; 'e2e-callback'?: string; 'e2e-timeout'?: string; 'init-budget-ms'?: string };
      if (options['e2e-timeout'] !== undefined && options['e2e-callback'] === undefined) throw new UsageError('--e2e-timeout goes with --e2e-callback');
      const timeout = parseMax(options['e2e-timeout'], '--e2e-timeout');
      const initBudget = parseMax(options['init-budget-ms'], '--init-budget-ms');
      const deps = doctorDeps(
        {
          ...values,
          ...(options['image-model'] ? { imageModel: options['image-model'] } : {}),
          ...(options['audio-model'] ? { audioModel: options['audio-model'] } : {}),
          ...(options['e2e-callback'] !== undefined ? { e2eCallback: options['e2e-callback'] } : {}),
          ...(timeout !== undefined ? { e2eTimeoutSeconds: timeout } : {}),
          ...(initBudget !== undefined ? { initBudgetMs: initBudget } : {}),
        },
        io,
      );
      const checks = await runDoctor(deps);
      if (format === 'json') io.stdout(JSON.stringify(checks, null, 2));
      else io.stdout(formatDoctorReport(deps.description, checks));
      return checks.some((c) => c.status === 'fail') ? 1 : 0;
    }

    if (group === 'audit') {
      const options = values as typeof values & { tenant?: string; since?: string; until?: string; outcome?: string };
      if (!options.tenant) throw new UsageError('--tenant is required');
      if (command === 'deliveries') {
        noMoreOperands(0);
        const input = {
          tenant: options.tenant,
          since: parseInstant(options.since, '--since'),
          until: parseInstant(options.until, '--until'),
          format,
        };
        const outcome = parseOutcome(options.outcome);
        await auditDeliveries(await connect(), { ...input, ...(outcome ? { outcome } : {}) }, io);
        return 0;
      }
      if (command === 'job') {
        const jobId = operands[0];
        if (!jobId) throw new UsageError('audit job needs a job id: audit job JOB_ID --tenant ID');
        noMoreOperands(1);
        if (format === 'csv') throw new UsageError('audit job prints table or json');
        return (await auditJob(await connect(), { tenant: options.tenant, jobId, format }, io)) ? 0 : 1;
      }
      throw new UsageError('audit needs one of: deliveries, job');
    }

    const options = values as typeof values & { 'dry-run'?: boolean; tenant?: string; job?: string; max?: string; held?: boolean };
    if (command !== 'deliveries' && command !== 'jobs') throw new UsageError('redrive needs one of: deliveries, jobs');
    if (options.held && command !== 'jobs') throw new UsageError('--held applies to redrive jobs only');
    noMoreOperands(0);
    const max = parseMax(options.max);
    await runRedrive(
      await connect(),
      {
        kind: command,
        dryRun: options['dry-run'] ?? false,
        filter: {
          ...(options.tenant !== undefined ? { tenantId: options.tenant } : {}),
          ...(options.job !== undefined ? { jobId: options.job } : {}),
        },
        ...(max !== undefined ? { max } : {}),
        format,
        ...(options.held ? { held: true } : {}),
      },
      io,
    );
    return 0;
  } catch (error) {
    return reportFailure(error, io);
  } finally {
    (target as Target | undefined)?.close();
  }
}

function reportFailure(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.stderr(`metahook: ${error.message}\nRun "npm run metahook -- --help" for usage.`);
    return 2;
  }
  if (error instanceof AudioLimitRefusedError) {
    io.stderr(`metahook: ${error.code}: ${error.message}`);
    return 1;
  }
  if (error instanceof TenantNotFoundError || error instanceof MediaSourceRefusedError || error instanceof TargetUnavailableError || error instanceof MissingSdkPackageError) {
    io.stderr(`metahook: ${error.message}`);
    return 1;
  }
  const err = error as Error & { code?: string; cause?: { code?: string } };
  if (err.code === 'ECONNREFUSED' || err.cause?.code === 'ECONNREFUSED' || err.name === 'TimeoutError') {
    io.stderr('metahook: cannot reach the target; is the local stack running (npm start)?');
    return 1;
  }
  // The SDK's error names are meaningful to operators (AccessDenied, ResourceNotFound...); no stack traces.
  io.stderr(`metahook: ${err.name}: ${err.message}`);
  return 1;
}
