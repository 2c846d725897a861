/**
 * Feedback belongs where the eye is: an element that appears (an error, the next button) is
 * scrolled into view clear of the sticky top bar and the fixed bottom navigation (their room is
 * reserved by `scroll-margin` in styles.css), and optionally focused.
 */
export function bringIntoView(element: HTMLElement | null, focus = false) {
  if (!element) return;
  element.scrollIntoView({ block: 'nearest', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
  if (focus) element.focus({ preventScroll: true });
}
