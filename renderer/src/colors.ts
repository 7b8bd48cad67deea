// Run colours: distinct for any number of runs (hues a golden angle apart), the same in every chart,
// legend and table of a view.
export function runColor(index: number): string {
  return `hsl(${Math.round((index * 137.508) % 360)} 70% 45%)`
}
