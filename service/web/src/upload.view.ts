import type { AppContext, Screen } from './context.model.js';
import { h, icon } from './dom.view.js';
import { busy, field, formAlert } from './form.view.js';
import { byteSize } from './format.model.js';
import { routeHref } from './route.model.js';
import { sendWithProgress, uploadRequest } from './upload.client.js';
import { checkCaption, checkImageFile, imageTypes, maxCaptionLength } from './validation.model.js';

/**
 * The "new photo" screen: pick or drop an image, add a caption, then ask the API for an upload URL,
 * send the bytes straight to storage with a progress bar, and publish the photo.
 */
export function uploadScreen(ctx: AppContext): Screen {
  let file: File | null = null;
  let previewUrl: string | null = null;
  let abort: AbortController | null = null;
  let readable: Promise<boolean> = Promise.resolve(true);

  const fileInput = h('input', {
    id: 'photo-file',
    name: 'photo',
    type: 'file',
    accept: imageTypes.join(','),
    class: 'visually-hidden-file',
    'aria-describedby': 'photo-file-hint photo-file-error',
  });
  const fileError = h('p', { id: 'photo-file-error', class: 'field-error' });
  const preview = h('img', { class: 'upload-preview', alt: '', hidden: true });
  const fileName = h('p', { class: 'file-name', 'aria-live': 'polite' });
  const dropLabel = h(
    'label',
    { for: 'photo-file', class: 'drop-zone' },
    preview,
    h('span', { class: 'drop-prompt' }, icon('image', 'icon icon-lg'), h('strong', {}, 'Choose a photo'), h('span', { class: 'muted' }, 'or drop it here')),
  );
  const caption = field({
    name: 'caption',
    label: 'Caption (optional)',
    multiline: true,
    attrs: { rows: 3, maxlength: maxCaptionLength, placeholder: 'Say something about this photo…' },
  });
  const counter = h('span', { class: 'char-count muted', 'aria-hidden': 'true' }, `0 / ${maxCaptionLength}`);
  caption.input.addEventListener('input', () => {
    counter.textContent = `${caption.input.value.length} / ${maxCaptionLength}`;
  });
  caption.element.appendChild(counter);

  const bar = h('progress', { id: 'upload-progress', max: 100, value: 0, 'aria-labelledby': 'upload-progress-label' });
  const barLabel = h('span', { id: 'upload-progress-label' }, 'Uploading…');
  const progress = h('div', { class: 'upload-progress', hidden: true, role: 'status' }, h('div', { class: 'progress-line' }, barLabel, h('span', { class: 'progress-value' })), bar);
  const alert = formAlert();
  const submit = h('button', { type: 'submit', class: 'button primary block' }, 'Share photo');
  const cancel = h('button', { type: 'button', class: 'button secondary block', hidden: true, onclick: () => abort?.abort() }, 'Cancel upload');

  const setProgress = (label: string, percent: number | null): void => {
    progress.hidden = false;
    progress.classList.remove('is-failed');
    barLabel.textContent = label;
    const value = progress.querySelector('.progress-value')!;
    if (percent === null) {
      bar.removeAttribute('value');
      value.textContent = '';
    } else {
      bar.value = percent;
      value.textContent = `${percent}%`;
    }
  };

  const choose = (chosen: File | null): void => {
    alert.show(null);
    progress.hidden = true;
    file = chosen;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    preview.hidden = true;
    dropLabel.classList.remove('has-preview');
    if (!chosen) {
      fileName.textContent = '';
      fileError.textContent = '';
      return;
    }
    const problem = checkImageFile(chosen);
    fileError.textContent = problem ?? '';
    if (problem) fileInput.setAttribute('aria-invalid', 'true');
    else fileInput.removeAttribute('aria-invalid');
    fileName.textContent = `${chosen.name} · ${byteSize(chosen.size)}`;
    if (!problem) {
      previewUrl = URL.createObjectURL(chosen);
      preview.src = previewUrl;
      preview.alt = `Preview of ${chosen.name}`;
      // A file the browser cannot decode is not worth uploading: say so before any bytes move.
      readable = preview.decode().then(
        () => true,
        () => false,
      );
      void readable.then((ok) => {
        if (file !== chosen) return;
        if (ok) {
          preview.hidden = false;
          dropLabel.classList.add('has-preview');
        } else {
          fileError.textContent = unreadable(chosen.name);
          fileInput.setAttribute('aria-invalid', 'true');
        }
      });
    }
  };

  fileInput.addEventListener('change', () => choose(fileInput.files?.[0] ?? null));
  dropLabel.addEventListener('dragover', (event) => {
    event.preventDefault();
    dropLabel.classList.add('is-dragging');
  });
  dropLabel.addEventListener('dragleave', () => dropLabel.classList.remove('is-dragging'));
  dropLabel.addEventListener('drop', (event) => {
    event.preventDefault();
    dropLabel.classList.remove('is-dragging');
    choose(event.dataTransfer?.files[0] ?? null);
  });

  async function onSubmit(event: Event): Promise<void> {
    event.preventDefault();
    alert.show(null);
    if (!file) {
      fileError.textContent = 'Choose a photo to share.';
      fileInput.setAttribute('aria-invalid', 'true');
      fileInput.focus();
      return;
    }
    const fileProblem = checkImageFile(file) ?? ((await readable) ? null : unreadable(file.name));
    const captionProblem = checkCaption(caption.input.value);
    caption.setError(captionProblem);
    if (fileProblem || captionProblem) {
      if (fileProblem) fileError.textContent = fileProblem;
      (fileProblem ? fileInput : caption.input).focus();
      return;
    }
    const done = busy(submit, 'Sharing…');
    abort = new AbortController();
    cancel.hidden = false;
    fileInput.disabled = true;
    try {
      setProgress('Preparing upload…', null);
      const ticket = await ctx.api.createUpload({ contentType: file.type, size: file.size });
      setProgress('Uploading…', 0);
      const request = uploadRequest(ticket, ctx.api.baseURL, ctx.session.token);
      await sendWithProgress(request, file, (percent) => setProgress('Uploading…', percent), abort.signal);
      cancel.hidden = true;
      setProgress('Publishing…', 100);
      const text = caption.input.value.trim();
      const photo = await ctx.api.createPhoto(text ? { uploadId: ticket.uploadId, caption: text } : { uploadId: ticket.uploadId });
      setProgress('Shared!', 100);
      ctx.notify('Your photo is shared.');
      ctx.navigate(routeHref({ name: 'photo', id: String(photo.id) }));
    } catch (error) {
      progress.hidden = false;
      progress.classList.add('is-failed');
      barLabel.textContent = 'Upload failed';
      alert.show(`Your photo was not shared. ${ctx.explain(error)}`);
    } finally {
      abort = null;
      cancel.hidden = true;
      fileInput.disabled = false;
      done();
    }
  }

  const form = h(
    'form',
    { class: 'upload-form', novalidate: true, onsubmit: (event) => void onSubmit(event) },
    alert.element,
    h(
      'div',
      { class: 'field' },
      fileInput,
      dropLabel,
      h('p', { id: 'photo-file-hint', class: 'field-hint' }, 'JPEG, PNG, WebP or GIF, up to 10 MB.'),
      fileName,
      fileError,
    ),
    caption.element,
    progress,
    submit,
    cancel,
  );
  form.addEventListener('input', () => progress.classList.remove('is-failed'));

  const element = h('section', { class: 'page upload-page', 'aria-labelledby': 'upload-title' }, h('h1', { id: 'upload-title' }, 'New photo'), form);
  return {
    element,
    title: 'New photo',
    dispose: () => {
      abort?.abort();
      if (previewUrl) URL.revokeObjectURL(previewUrl);
    },
  };
}

function unreadable(name: string): string {
  return `${name} could not be read as an image. It may be damaged, or not really a picture.`;
}
