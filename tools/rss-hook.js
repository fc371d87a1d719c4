// Preloaded with `node -r tools/rss-hook.js …`: prints the process's peak RSS (KiB) on stderr at exit.
process.on('exit', () => {
  require('fs').writeSync(2, `maxrss_kb=${process.resourceUsage().maxRSS}\n`);
});
