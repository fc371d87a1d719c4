/** `abe-clip explain`: a PNG of where each phrase group of a caption is found in an image. */
import * as path from 'path';
import { NAMED_CONFIGS } from '../../abe/options';
import { initBackend } from '../../backend';
import { UsageError } from '../../errors';
import { explainPair } from '../../eval/explain';
import { prepareOutDir } from '../../eval/report';
import { defineCommand } from '../command';
import { backendLine } from '../format';
import { applyThreads, checkCaptions, checkConfigFlags, CONFIG_FLAGS, ConfigFlags, openScorer, requirePath, THREADS_FLAG } from '../setup';

/** The configurations explain can draw: those with an ABE term (clip has no parts to show). */
const ABE_CONFIGS = Object.keys(NAMED_CONFIGS).filter((n) => n !== 'clip');

export const explain = defineCommand<
  ConfigFlags & { image: string; text: string; out: string; config: string; json?: boolean; backend?: string; threads?: number }
>({
  name: 'explain',
  summary: "draw each phrase group's sim_p map and chosen patches over the image, labelled with Δ",
  usage: 'abe-clip explain --weights W --image a.jpg --text "a red cube and a blue sphere" --out heat.png',
  flags: [
    { name: 'image', type: 'string', required: true, placeholder: 'FILE', help: 'image file' },
    { name: 'text', type: 'string', required: true, placeholder: 'CAPTION', help: 'caption' },
    { name: 'out', type: 'string', required: true, placeholder: 'FILE.png', help: 'output PNG' },
    {
      name: 'config',
      type: 'string',
      default: 'abe',
      choices: ABE_CONFIGS,
      placeholder: 'NAME',
      help: `configuration whose parts are drawn (${ABE_CONFIGS.join(' or ')})`,
    },
    { name: 'json', type: 'boolean', help: 'print only JSON on stdout: {scores, groups (Δ, chosen patches, region and its term), out}' },
    ...CONFIG_FLAGS.filter((x) => x.name !== 'configs'),
    THREADS_FLAG,
  ],
  async exec(f, io) {
    requirePath('--image', f.image, 'file');
    if (!f.out.toLowerCase().endsWith('.png')) throw new UsageError(`--out ${f.out}`, 'must be a .png file');
    prepareOutDir(path.dirname(path.resolve(f.out)), '--out');
    const configs = ['clip', f.config].filter((x, i, a) => a.indexOf(x) === i).join(',');
    checkConfigFlags({ ...f, configs });
    applyThreads(f.threads, false);
    const backend = await initBackend({ backend: f.backend, source: '--backend' });
    io.stderr.write(backendLine(backend) + '\n');
    const s = await openScorer({ ...f, configs }, io);
    try {
      checkCaptions([f.text], s.contextLength, { source: '--text', fromFlags: true }, io);
      const r = await explainPair(s.scorer, { key: f.image, path: f.image }, f.text, f.config);
      await r.raster.save(f.out);
      if (f.json) {
        io.stdout.write(JSON.stringify({ scores: r.scores, groups: r.groups, out: f.out }, null, 2) + '\n');
      } else {
        const lines = r.groups.map(
          (g) =>
            `  ${g.words.padEnd(24)} ` +
            (g.delta !== null
              ? `Δ=${(g.delta >= 0 ? '+' : '') + g.delta.toFixed(4)}  patches [${g.chosen.join(', ')}]`
              : g.region !== null
                ? `region ${g.region}  term ${(g.regionTerm! >= 0 ? '+' : '') + g.regionTerm!.toFixed(4)}  p·r ${g.regionSim!.toFixed(4)}`
                : 'no region'),
        );
        io.stdout.write(
          `${Object.entries(r.scores)
            .map(([k, v]) => `${k} ${v.toFixed(3)}`)
            .join('   ')}\n${lines.join('\n')}\nwrote ${f.out}\n`,
        );
      }
    } finally {
      s.dispose();
    }
    return 0;
  },
});
