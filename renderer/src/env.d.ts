/// <reference types="vite/client" />
import type { WorkbenchBridge } from '../../preload/types'

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

declare global {
  interface Window {
    /** Present inside the Electron app (preload); absent in a browser tab on `mengzi serve`. */
    workbench?: WorkbenchBridge
  }
}
