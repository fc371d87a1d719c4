/** The request loop both worker kinds share (EncoderPool's and the eval ScorerPool's). */
import type { MessagePort } from 'worker_threads';
import { serializeError } from './protocol';

/**
 * Serve one request at a time, in arrival order (the pools never send a worker more than one): `close` runs
 * `dispose`, answers `{kind: 'closed'}` and ends the loop; a request whose handler throws is answered
 * `{kind: 'failed', id, error}`.
 */
export function serveInOrder<Req extends { kind: string; id?: number }>(
  port: MessagePort,
  dispose: () => void,
  handle: (req: Req) => Promise<void>,
): void {
  let chain = Promise.resolve();
  port.on('message', (req: Req) => {
    chain = chain.then(async () => {
      if (req.kind === 'close') {
        dispose();
        port.postMessage({ kind: 'closed' });
        port.close();
        return;
      }
      try {
        await handle(req);
      } catch (e) {
        port.postMessage({ kind: 'failed', id: req.id, error: serializeError(e) });
      }
    });
  });
}
