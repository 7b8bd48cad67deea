// Where a scroll box is scrolled to and how wide it is, for components that keep only what is in view in
// the page (the config diff's columns, a legend's rows). Read once per frame while scrolling, and from a
// resize observer rather than at mount: reading clientWidth during the first render forces a layout of
// the whole view (~60 ms with 200 runs in Compare).
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue'

export function useScrollBox(box: Ref<HTMLElement | null>) {
  const scrollTop = ref(0)
  const scrollLeft = ref(0)
  const width = ref(0) // 0 until the observer has measured it
  let frame = 0
  function onScroll() {
    frame ||= requestAnimationFrame(() => {
      frame = 0
      const el = box.value
      if (!el) return
      scrollTop.value = el.scrollTop
      scrollLeft.value = el.scrollLeft
      width.value = el.clientWidth || width.value
    })
  }
  let resize: ResizeObserver | null = null
  onMounted(() => {
    resize = new ResizeObserver(onScroll)
    resize.observe(box.value!)
  })
  onBeforeUnmount(() => {
    resize?.disconnect()
    cancelAnimationFrame(frame)
  })
  return { scrollTop, scrollLeft, width, onScroll }
}
