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
