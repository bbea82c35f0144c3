import { defineConfig } from 'vitest/config';

// `npm run dev` serves the page on Vite's dev server; /config.json then comes from the devnet's
// own page server (op-node devnet --web-port, 3000 by default), which knows the chains.
export default defineConfig({
  build: { target: 'es2022', sourcemap: true },
  server: { proxy: { '/config.json': 'http://127.0.0.1:3000' } },
  test: { include: ['test/**/*.test.ts'], environment: 'node' },
});
