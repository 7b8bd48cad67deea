// Where the workbench keeps its data. The desktop app and the CLI agree on one folder so that both see
// the same experiments; MENGZI_HOME overrides it (tests, servers, portable installs).
import os from 'node:os'
import path from 'node:path'

export const APP_NAME = 'Mengzi Workbench'

/** The same folder Electron's app.getPath('userData') gives for our app name. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.MENGZI_HOME) return path.resolve(env.MENGZI_HOME)
  const home = os.homedir()
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', APP_NAME)
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), APP_NAME)
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), APP_NAME)
}

export interface DataLayout {
  home: string
  database: string
  datasets: string // datasets/<id>/ holds a dataset's shards and caches
  models: string // models/<id>/ holds an imported or trained model's files
  runs: string // runs/<id>/ holds checkpoints and logs
  staging: string // unfinished work; never visible in the database until moved out
  tuningCache: string // the GPU kernels tuned on this machine's adapters (engine/compute/webgpu/matmul-tune-cache.ts)
}

export function dataLayout(home: string, database?: string): DataLayout {
  return {
    home,
    database: database ?? path.join(home, 'mengzi.db'),
    datasets: path.join(home, 'datasets'),
    models: path.join(home, 'models'),
    runs: path.join(home, 'runs'),
    staging: path.join(home, 'staging'),
    tuningCache: path.join(home, 'cache', 'webgpu-matmul-tuning.json'),
  }
}
