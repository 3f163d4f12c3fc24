import type { Executor } from './database.js';

/**
 * Takes or renews the lease on a named job until `until`. Succeeds when nobody holds it, when the
 * previous lease has run out, or when `owner` already holds it. A single conditional UPDATE (or the
 * first INSERT) decides, so two nodes racing for it cannot both win.
 */
export async function tryAcquireLease(db: Executor, name: string, owner: string, now: string, until: string): Promise<boolean> {
  const updated = await db
    .updateTable('job_leases')
    .set({ owner, lease_until: until })
    .where('name', '=', name)
    .where((eb) => eb.or([eb('lease_until', '<=', now), eb('owner', '=', owner)]))
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) > 0) return true;
  const inserted = await db
    .insertInto('job_leases')
    .values({ name, owner, lease_until: until })
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function releaseLease(db: Executor, name: string, owner: string): Promise<void> {
  await db.deleteFrom('job_leases').where('name', '=', name).where('owner', '=', owner).execute();
}
