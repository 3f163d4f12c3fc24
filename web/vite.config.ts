import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The portals' build: web/ → dist/web (WEB_OUT_DIR overrides, for the browser tests). No inline
 * script or style is emitted (the server's CSP allows neither), assets are never inlined as data:
 * URLs, and nothing is fetched from a third party at run time. `npm run dev:web` serves the pages
 * with hot reload and sends API calls to a Postern on PORT (default 3000).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: process.env.WEB_OUT_DIR ?? fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: Object.fromEntries(['/api', '/v1.0', '/dev'].map((p) => [p, `http://127.0.0.1:${process.env.PORT ?? '3000'}`])),
  },
});
