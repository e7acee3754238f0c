// Storage: the single DynamoDB table (shape from lib/table-design.ts, shared with the local
// stack), the media staging bucket, and the customer-managed key that encrypts the table,
// the queues and the alarm topic.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ALL_INDEXES, TABLE_KEYS, TTL_ATTRIBUTE } from '../table-design';

export interface StorageProps {
  /** @default true */
  readonly deletionProtection?: boolean;
  /** Days before a staged media object expires. @default 7 */
  readonly mediaExpiryDays?: number;
}

export class Storage extends Construct {
  public readonly table: Table;
  public readonly mediaBucket: Bucket;
  /** Encrypts the table, the queues and the alarm topic. */
  public readonly dataKey: Key;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    const deletionProtection = props.deletionProtection ?? true;

    this.dataKey = new Key(this, 'DataKey', {
      description: 'Metahook: encrypts the jobs table, pipeline queues and alarm topic',
      enableKeyRotation: true,
      // The table and any queued messages are unreadable without it: never delete it with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.dataKey,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      removalPolicy: deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const index of ALL_INDEXES) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType[index.projection],
      });
    }

    this.mediaBucket = new Bucket(this, 'MediaBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // SSE-S3: Bedrock reads s3Location media with the caller's S3 access and no KMS grant.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [
        { id: 'expire-staged-media', expiration: Duration.days(props.mediaExpiryDays ?? 7) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
