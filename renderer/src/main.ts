import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { prefetchViews, router } from './router'
import './styles.css'

createApp(App).use(createPinia()).use(router).mount('#app')
prefetchViews()
