/**
 * Photo proof: take photos with the camera or pick them, see them, upload each with its progress,
 * retry what failed, warn about photos the Guardian would doubt, add notes, submit. Photos are kept
 * in IndexedDB until submitted and uploaded byte for byte (EXIF GPS and time intact).
 */
import type { OperatorTask } from '@humanops/sdk/operator';
import { APIConnectionError } from '@humanops/sdk/operator';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { reportConnection } from '../connectivity.ts';
import { readFacts, warningsFor } from '../exif.ts';
import { explain } from '../messages.ts';
import { bringIntoView } from '../scroll.ts';
import { clearPhotos, photosOf, removePhoto, savePhoto, type StoredPhoto } from '../photos.ts';

interface Item {
  photo: StoredPhoto;
  preview: string;
  warnings: string[];
  state: 'waiting' | 'uploading' | 'done' | 'failed';
  progress: number;
  error?: string;
}

/** `resubmit`: the operator's one second chance on a task not accepted (new proof, sent once). */
export function ProofCapture({ task, onSubmitted, resubmit = false }: { task: OperatorTask; onSubmitted: () => void; resubmit?: boolean }) {
  const [items, setItems] = useState<Item[]>([]);
  const [notes, setNotes] = useState(() => sessionStorage.getItem(`humanops.notes.${task.task_id}`) ?? '');
  const [confirming, setConfirming] = useState(false);
  const [submitError, setSubmitError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const confirmBox = useRef<HTMLDivElement>(null);
  const submitErrorLine = useRef<HTMLParagraphElement>(null);
  const itemsRef = useRef(items);
  itemsRef.current = items;

  const update = (id: string, change: Partial<Item>) =>
    setItems((current) => current.map((item) => (item.photo.id === id ? { ...item, ...change } : item)));

  const upload = useCallback(async (photo: StoredPhoto) => {
    update(photo.id, { state: 'uploading', progress: 0, error: undefined });
    try {
      const uploaded = await api.tasks.upload({
        taskId: task.task_id,
        file: photo.file,
        filename: photo.name,
        onProgress: ({ loaded, total }) => update(photo.id, { progress: total ? Math.round((loaded / total) * 100) : 0 }),
      });
      reportConnection(true);
      const done = { ...photo, uploadedUrl: uploaded.path };
      await savePhoto(done);
      update(photo.id, { photo: done, state: 'done', progress: 100 });
    } catch (failure) {
      reportConnection(!(failure instanceof APIConnectionError));
      update(photo.id, { state: 'failed', error: explain(failure) });
    }
  }, [task.task_id]);

  const add = useCallback(async (photo: StoredPhoto) => {
    const warnings = warningsFor(await readFacts(photo.file), task.location, task.accepted_at);
    const item: Item = { photo, preview: URL.createObjectURL(photo.file), warnings, state: photo.uploadedUrl ? 'done' : 'waiting', progress: photo.uploadedUrl ? 100 : 0 };
    setItems((current) => [...current, item]);
    if (!photo.uploadedUrl) await upload(photo);
  }, [task.location, task.accepted_at, upload]);

  // Photos taken earlier (before a reload, or while offline) are still here: show them and finish their uploads.
  useEffect(() => {
    photosOf(task.task_id).then((photos) => photos.forEach(add));
    const retry = () => itemsRef.current.filter((item) => item.state === 'failed').forEach((item) => upload(item.photo));
    addEventListener('online', retry);
    return () => {
      removeEventListener('online', retry);
      itemsRef.current.forEach((item) => URL.revokeObjectURL(item.preview));
    };
  }, [task.task_id]);

  const pick = async (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const files = [...(input.files ?? [])];
    input.value = '';
    // "Add a photo first" and the like are about what was on screen before this photo.
    if (files.length) setSubmitError(null);
    for (const file of files) {
      const photo: StoredPhoto = { id: crypto.randomUUID(), taskId: task.task_id, file, name: file.name || 'photo.jpg', addedAt: Date.now() };
      await savePhoto(photo);
      await add(photo);
    }
  };

  const remove = async (item: Item) => {
    await removePhoto(item.photo.id);
    URL.revokeObjectURL(item.preview);
    setItems((current) => current.filter((other) => other !== item));
  };

  useEffect(() => {
    if (!confirming) return;
    bringIntoView(confirmBox.current);
    confirmBox.current?.querySelector('button')?.focus({ preventScroll: true });
  }, [confirming]);
  useEffect(() => bringIntoView(submitErrorLine.current), [submitError]);

  const warned = items.some((item) => item.warnings.length > 0);
  const allUploaded = items.length > 0 && items.every((item) => item.state === 'done');

  const submit = async (anyway = false) => {
    setSubmitError(null);
    if (!allUploaded) return setSubmitError(items.length === 0 ? 'Add at least one photo first.' : 'Wait until every photo is uploaded, or retry the ones that failed.');
    if (warned && !anyway) return setConfirming(true);
    setConfirming(false);
    setBusy(true);
    try {
      const proof = { photos: items.map((item) => item.photo.uploadedUrl!), ...(notes.trim() ? { notes: notes.trim() } : {}) };
      await (resubmit ? api.tasks.resubmit(task.task_id, proof) : api.tasks.submit(task.task_id, proof));
      await clearPhotos(task.task_id);
      sessionStorage.removeItem(`humanops.notes.${task.task_id}`);
      onSubmitted();
    } catch (failure) {
      setSubmitError(explain(failure));
      setBusy(false);
    }
  };

  return (
    <section class="proof" aria-labelledby="proof-title">
      <h2 id="proof-title">{resubmit ? 'Send new proof' : 'Your proof'}</h2>
      <p class="muted">Take the photos at the task's place with location turned on: the time and place they carry are checked.</p>
      <div class="row">
        <label class="button primary" for="camera">Take a photo</label>
        <input id="camera" class="visually-hidden" type="file" accept="image/*" capture="environment" multiple onChange={pick} />
        <label class="button" for="gallery">Choose photos</label>
        <input id="gallery" class="visually-hidden" type="file" accept="image/*" multiple onChange={pick} />
      </div>
      <ul class="photos" aria-label="Photos">
        {items.map((item, index) => (
          <li key={item.photo.id} class="photo">
            <img src={item.preview} alt={`Photo ${index + 1}`} />
            <div>
              {item.state === 'uploading' && (
                <>
                  <label for={`progress-${item.photo.id}`}>Uploading photo {index + 1}</label>
                  <progress id={`progress-${item.photo.id}`} max={100} value={item.progress}>{item.progress}%</progress>
                </>
              )}
              {item.state === 'waiting' && <p>Waiting to upload</p>}
              {item.state === 'done' && <p class="ok">Photo {index + 1} uploaded</p>}
              {item.state === 'failed' && (
                <div role="alert">
                  <p class="error">Photo {index + 1} did not upload. {item.error} It is kept on this phone.</p>
                  <button onClick={() => upload(item.photo)}>Retry upload</button>
                </div>
              )}
              {item.warnings.map((warning) => <p class="warning">{warning}</p>)}
              <button class="link" onClick={() => remove(item)}>Remove photo {index + 1}</button>
            </div>
          </li>
        ))}
      </ul>
      <label for="notes">Notes for the requester <span class="muted">(optional)</span></label>
      <textarea id="notes" rows={3} maxLength={5000} value={notes} onInput={(e) => {
        setNotes(e.currentTarget.value);
        sessionStorage.setItem(`humanops.notes.${task.task_id}`, e.currentTarget.value);
      }} />
      {confirming && (
        <div class="warning-box" role="alertdialog" aria-labelledby="confirm-title" ref={confirmBox}>
          <p id="confirm-title"><strong>Some photos may be refused.</strong> They lack a location or a time, or were taken far from the task or before you accepted it. Submit anyway?</p>
          <div class="row">
            <button class="primary" onClick={() => submit(true)}>Submit anyway</button>
            <button onClick={() => setConfirming(false)}>Go back</button>
          </div>
        </div>
      )}
      {submitError && <p class="error" role="alert" ref={submitErrorLine}>{submitError}</p>}
      {!confirming && <button class="primary wide" onClick={() => submit()} disabled={busy}>{busy ? 'Submitting…' : resubmit ? 'Send new proof' : 'Submit proof'}</button>}
    </section>
  );
}
