// The application menu: standard roles, plus the views and a link to the docs.
import { Menu, shell, type BrowserWindow, type MenuItemConstructorOptions } from 'electron'

const VIEWS = ['Datasets', 'Tags', 'Runs', 'Compare', 'Models', 'Settings'] as const

export function buildMenu(getWindow: () => BrowserWindow | null): Menu {
  const isMac = process.platform === 'darwin'
  const go = (view: string) => {
    const win = getWindow()
    // The renderer's router listens for hash changes; no IPC channel needed for navigation.
    if (win) void win.webContents.executeJavaScript(`location.hash = ${JSON.stringify(`#/${view.toLowerCase()}`)}`)
  }
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        ...VIEWS.map((v, i) => ({ label: v, accelerator: `CmdOrCtrl+${i + 1}`, click: () => go(v) })),
        { type: 'separator' },
        { role: 'reload' },
        { role: 'toggleDevTools' },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [{ label: 'Mengzi report (arXiv 2110.06696)', click: () => void shell.openExternal('https://arxiv.org/abs/2110.06696') }],
    },
  ]
  return Menu.buildFromTemplate(template)
}
