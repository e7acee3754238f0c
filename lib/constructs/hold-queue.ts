// The held-jobs queue: a disabled tenant's jobs wait here instead of in the jobs dead-letter queue,
// so a routine disable pages no one (no alarm watches this queue; the dashboard graphs held jobs).
// `metahook tenants enable` moves that tenant's messages back to the jobs queue. Built from
// lib/queue-design.ts (as the local stack's), encrypted with the stack's key, TLS only.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { QueueDesign } from '../queue-design';

export interface HoldQueueProps {
  readonly design: QueueDesign;
  readonly encryptionKey: IKey;
}

export class HoldQueue extends Construct {
  public readonly queue: Queue;

  constructor(scope: Construct, id: string, props: HoldQueueProps) {
    super(scope, id);
    if (props.design.deadLetter) throw new Error(`Hold queue design "${props.design.name}" must not dead-letter: nothing consumes it`);
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
      visibilityTimeout: Duration.seconds(props.design.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(props.design.retentionSeconds),
    });
  }
}
