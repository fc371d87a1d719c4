/** Entry of the fresh process that runs the scoring job (see scoring-job.ts); talks to its parent over IPC. */
import { ChildMessage, runScoringJob, ScoringJobOptions } from './scoring-job';

const send = (m: ChildMessage): Promise<void> => new Promise((resolve) => process.send!(m, () => resolve()));

process.once('message', (o: ScoringJobOptions) => {
  runScoringJob(o, (message) => {
    void send({ kind: 'progress', message });
  })
    .then((result) => send({ kind: 'result', result }))
    .catch((e: Error) => send({ kind: 'error', name: e?.name ?? 'Error', message: e?.message ?? String(e), stack: e?.stack }))
    .finally(() => process.disconnect());
});
