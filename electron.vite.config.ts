// electron-vite: main, preload and renderer compile separately. The preload is CommonJS (.cjs) because
// sandboxed preloads cannot be ES modules; the renderer only sees the API's types.
import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'
import { cspPlugin } from './renderer/csp-plugin'

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // The worker threads' entries are built beside index.js, where engine/worker-thread.ts looks for them.
      rollupOptions: {
        input: {
          index: resolve('main/index.ts'),
          'task-worker': resolve('engine/service/task-worker.ts'),
          'tagger-worker': resolve('engine/service/tagger-worker.ts'),
          worker: resolve('engine/train/worker.ts'),
          'finetune-worker': resolve('engine/train/finetune-worker.ts'),
        },
        // Shared chunks stay in out/main/ too: engine modules find resources/ and the worker entries by
        // URLs relative to their own file, which must be the same depth as in the sources.
        output: { chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // sandboxed preloads cannot require node_modules: bundle everything into one file
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve('preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('renderer'),
    base: './',
    plugins: [vue(), cspPlugin()],
    build: {
      outDir: resolve('out/renderer'),
      emptyOutDir: true,
      rollupOptions: { input: { index: resolve('renderer/index.html') } },
    },
  },
})
