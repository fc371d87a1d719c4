/** Open a job from its JSON spec (the CLI, the queue worker) with a model loaded once per weights. */
import * as path from 'path';
import { loadClip } from '../clip/load';
import type { ClipModel } from '../clip/model';
import { imageEmbedJob, textEmbedJob } from './embed';
import type { BatchJob } from './job';
import { scoreJob } from './score';
import type { JobSpec } from './spec';

export class ModelPool {
  private readonly models = new Map<string, ClipModel>();
  async get(weights: string): Promise<ClipModel> {
    let m = this.models.get(weights);
    if (!m) {
      m = await loadClip(weights);
      this.models.set(weights, m);
    }
    return m;
  }
  dispose(): void {
    for (const m of this.models.values()) m.dispose();
    this.models.clear();
  }
}

export async function openJob(spec: JobSpec, pool: ModelPool): Promise<BatchJob> {
  const model = await pool.get(spec.weights);
  if (spec.kind === 'embed-images') return imageEmbedJob(spec, model);
  if (spec.kind === 'embed-texts') return textEmbedJob(spec, model);
  return scoreJob(spec, model);
}

/** Absolute paths, so that a spec means the same to a worker started in another folder. */
export function absolute(p: string): string {
  return path.resolve(p);
}
