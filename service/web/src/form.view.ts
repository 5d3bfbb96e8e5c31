import { h, type Attrs } from './dom.view.js';

/** A labelled form field with a hint and an error line, wired for screen readers. */
export interface Field {
  element: HTMLElement;
  input: HTMLInputElement | HTMLTextAreaElement;
  /** Shows (or clears, with null) an error under the field and marks the input invalid. */
  setError(message: string | null): void;
}

/** Builds a labelled input (or textarea) with an optional hint. */
export function field(options: { name: string; label: string; hint?: string; multiline?: boolean; attrs?: Attrs }): Field {
  const id = `field-${options.name}`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [options.hint ? hintId : null, errorId].filter(Boolean).join(' ');
  const attrs: Attrs = { id, name: options.name, 'aria-describedby': describedBy, ...options.attrs };
  const input = options.multiline ? h('textarea', attrs) : h('input', attrs);
  const error = h('p', { id: errorId, class: 'field-error' });
  const element = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, options.label),
    options.hint ? h('p', { id: hintId, class: 'field-hint' }, options.hint) : null,
    input,
    error,
  );
  return {
    element,
    input,
    setError(message) {
      error.textContent = message ?? '';
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
  };
}

/** A form-level error box (role=alert, so it is read out as soon as it appears). */
export function formAlert(): { element: HTMLElement; show(message: string | null): void } {
  const element = h('div', { class: 'form-alert', role: 'alert', hidden: true });
  return {
    element,
    show(message) {
      element.textContent = message ?? '';
      element.hidden = !message;
    },
  };
}

/** Disables a submit button and swaps its label while a request runs. */
export function busy(button: HTMLButtonElement, label: string): () => void {
  const original = button.textContent ?? '';
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  return () => {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = original;
  };
}
