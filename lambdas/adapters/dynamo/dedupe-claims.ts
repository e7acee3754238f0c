// Adapter: DedupeClaims port on DynamoDB. One conditional PutItem per file claims its dedupe
// key, so concurrent intakes cannot create two jobs for one file; a request that fails undoes
// only the claims it made (conditional on the claim still naming its job).
import { DeleteCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DedupeClaims, DedupeReservation, ReservationResult } from '../../core/ports';
import { conditionally, epochSeconds, isConditionalCheckFailed, keys, mapWithConcurrency } from './keys';
import { getConsistent } from './table-io';

export function createDynamoDedupeClaims(db: DynamoDBDocumentClient, options: { readonly tableName: string }): DedupeClaims {
  const TableName = options.tableName;

  async function reserveOne(reservation: DedupeReservation): Promise<ReservationResult> {
    const key = keys.dedupe(reservation.tenantId, reservation.dedupeKey);
    try {
      await db.send(
        new PutCommand({
          TableName,
          Item: {
            ...key,
            entity: 'dedupe',
            job_id: reservation.jobId,
            reserved_at: reservation.now.toISOString(),
            expires_at: epochSeconds(reservation.expiresAt),
          },
          // An expired claim (TTL deletion lags by up to days) counts as absent.
          ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
          ExpressionAttributeValues: { ':now': epochSeconds(reservation.now) },
        }),
      );
      return { reserved: true, jobId: reservation.jobId };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await getConsistent(db, TableName, key);
      if (!existing) return reserveOne(reservation); // deleted in between: try again
      return { reserved: false, jobId: String(existing.job_id), reservedAt: String(existing.reserved_at) };
    }
  }

  async function releaseClaims(reservations: readonly DedupeReservation[]): Promise<void> {
    await mapWithConcurrency(reservations, 16, async (reservation) => {
      await conditionally(() =>
        db.send(
          new DeleteCommand({
            TableName,
            Key: keys.dedupe(reservation.tenantId, reservation.dedupeKey),
            ConditionExpression: 'job_id = :job',
            ExpressionAttributeValues: { ':job': reservation.jobId },
          }),
        ),
      );
    });
  }

  return {
    async reserve(reservations) {
      // Every claim runs to its end before anything is decided: a fail-fast Promise.all would
      // leave the claims that succeeded behind, answered later as duplicates of jobs that never exist.
      const settled = await mapWithConcurrency(reservations, 16, (reservation) =>
        reserveOne(reservation).then(
          (result) => ({ ok: true as const, result }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
      );
      const failure = settled.find((outcome) => !outcome.ok);
      if (failure && !failure.ok) {
        const made = reservations.filter((_, i) => {
          const outcome = settled[i]!;
          return outcome.ok && outcome.result.reserved;
        });
        await releaseClaims(made).catch(() => undefined); // a leftover claim goes stale and is taken over
        throw failure.error;
      }
      return settled.map((outcome) => (outcome as { ok: true; result: ReservationResult }).result);
    },

    async takeOverReservation(reservation, staleJobId) {
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.dedupe(reservation.tenantId, reservation.dedupeKey),
            UpdateExpression: 'SET job_id = :job, reserved_at = :now, expires_at = :expires',
            ConditionExpression: 'job_id = :stale',
            ExpressionAttributeValues: {
              ':job': reservation.jobId,
              ':now': reservation.now.toISOString(),
              ':expires': epochSeconds(reservation.expiresAt),
              ':stale': staleJobId,
            },
          }),
        ),
      );
    },

    releaseReservations: releaseClaims,
  };
}
