import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'

// Hash history: works from file:// inside Electron and from the loopback server alike.
export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/datasets' },
  { path: '/datasets', name: 'datasets', component: () => import('./views/DatasetsView.vue'), meta: { title: 'Datasets' } },
  { path: '/tags', name: 'tags', component: () => import('./views/TagsView.vue'), meta: { title: 'Tags' } },
  { path: '/runs/new', component: () => import('./views/RunNewView.vue'), meta: { title: 'New run' } },
  { path: '/runs/:id(\\d+)', component: () => import('./views/RunDetailView.vue'), meta: { title: 'Run' } },
  { path: '/runs', name: 'runs', component: () => import('./views/RunsView.vue'), meta: { title: 'Runs' } },
  { path: '/finetune', name: 'finetune', component: () => import('./views/FinetuneView.vue'), meta: { title: 'Fine-tune' } },
  { path: '/compare', name: 'compare', component: () => import('./views/CompareView.vue'), meta: { title: 'Compare' } },
  { path: '/models', name: 'models', component: () => import('./views/ModelsView.vue'), meta: { title: 'Models' } },
  { path: '/settings', name: 'settings', component: () => import('./views/SettingsView.vue'), meta: { title: 'Settings' } },
]

export const router = createRouter({ history: createWebHashHistory(), routes })

/**
 * Loads every view's code once the page is idle after start, so that opening a view for the first time
 * does not wait for its chunk to be fetched and evaluated (Compare's, with uPlot, was ~30 ms of its first
 * render). The parallel coordinates' part of ECharts stays out: it loads when they are first drawn.
 */
export function prefetchViews(): void {
  const idle = (globalThis as { requestIdleCallback?: (f: () => void, o?: { timeout: number }) => number }).requestIdleCallback ?? ((f: () => void) => setTimeout(f, 200))
  idle(
    () => {
      for (const r of routes) if (typeof r.component === 'function') void (r.component as () => Promise<unknown>)()
    },
    { timeout: 2000 },
  )
}
