/** One ScorerPool worker: its own backend, model and ModelScorer, scoring the share of images it is sent. */
import { parentPort, workerData } from 'worker_threads';
import { initBackend } from '../backend';
import { loadClip } from '../clip/load';
import { serializeError } from '../parallel/protocol';
import { serveInOrder } from '../parallel/serve';
import { quietCpuBanner } from '../tensor/quiet';
import type { ScorerReply, ScorerRequest, ScorerWorkerInit } from './scorer-pool';
import { ModelScorer } from './scoring';

// Each worker has its own tfjs instance, and with it the cpu backend's Node.js banner.
quietCpuBanner();
const port = parentPort!;
const post = (m: ScorerReply): void => port.postMessage(m);

async function main(): Promise<void> {
  const init = workerData as ScorerWorkerInit;
  let scorer: ModelScorer;
  let dispose: () => void;
  try {
    const info = await initBackend(init.backend ? { backend: init.backend } : {});
    const model = await loadClip(init.weights);
    try {
      scorer = new ModelScorer(model, { configs: init.configs, cacheDir: init.cacheDir, modelId: init.modelId });
    } catch (e) {
      model.dispose();
      throw e;
    }
    dispose = () => {
      scorer.dispose();
      model.dispose();
    };
    post({ kind: 'ready', backend: info.name, configs: scorer.configs, options: scorer.options });
  } catch (e) {
    post({ kind: 'init-failed', error: serializeError(e) });
    return;
  }
  serveInOrder<ScorerRequest>(
    port,
    () => dispose(),
    async (req) => {
      if (req.kind === 'close') return;
      const r = await scorer.score(req.images, req.captions);
      post({ kind: 'scored', id: req.id, scores: r.scores, failed: [...r.failed] });
    },
  );
}

void main();
