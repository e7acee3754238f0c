// A pipeline queue and its dead-letter queue, built from lib/queue-design.ts so the cloud
// queues match the ones the local stack creates. Encrypted with the stack's key, TLS only.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { QueueDesign } from '../queue-design';

export interface PipelineQueueProps {
  readonly design: QueueDesign;
  readonly deadLetterDesign: QueueDesign;
  readonly encryptionKey: IKey;
}

export class PipelineQueue extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  /** The design this queue was built from (lib/queue-design.ts). */
  public readonly design: QueueDesign;

  constructor(scope: Construct, id: string, props: PipelineQueueProps) {
    super(scope, id);
    const { design, deadLetterDesign, encryptionKey } = props;
    this.design = design;
    if (design.deadLetter?.queue !== deadLetterDesign.name) {
      throw new Error(`Queue design "${design.name}" does not dead-letter to "${deadLetterDesign.name}"`);
    }
    const common = {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: encryptionKey,
      // Reuse a data key for 5 minutes: fewer KMS calls at a small cost in key freshness.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    };
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...common,
      visibilityTimeout: Duration.seconds(deadLetterDesign.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(deadLetterDesign.retentionSeconds),
    });
    this.queue = new Queue(this, 'Queue', {
      ...common,
      visibilityTimeout: Duration.seconds(design.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(design.retentionSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: design.deadLetter.maxReceiveCount },
    });
  }
}
