import { enqueueMessage, type MessageDeps, type OutgoingMessage, type TemplateName } from '../../src/domain/messages.js';
import type { Db } from '../../src/store/database.js';

/** Queues one message in its own transaction, the way a use case does inside its own. */
export async function enqueue<T extends TemplateName>(deps: MessageDeps & { db: Db }, message: OutgoingMessage<T>): Promise<string> {
  return deps.db.transaction().execute((trx) => enqueueMessage(trx, deps, message));
}
