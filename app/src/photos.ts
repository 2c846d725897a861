/**
 * Proof photos kept in IndexedDB until their upload has succeeded, so a dropped connection, a
 * reload or a closed tab never loses what the operator took. The file is stored as taken (a Blob,
 * EXIF and all): nothing here re-encodes an image.
 */
export interface StoredPhoto {
  id: string;
  taskId: string;
  file: Blob;
  name: string;
  addedAt: number;
  /** Set once the API has it. */
  uploadedUrl?: string;
}

const DB_NAME = 'humanops';
const STORE = 'photos';
let opening: Promise<IDBDatabase> | undefined;

function db(): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'id' }).createIndex('taskId', 'taskId');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

async function run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const store = (await db()).transaction(STORE, mode).objectStore(STORE);
  return new Promise((resolve, reject) => {
    const request = work(store);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export const photosOf = async (taskId: string): Promise<StoredPhoto[]> =>
  (await run('readonly', (store) => store.index('taskId').getAll(taskId) as IDBRequest<StoredPhoto[]>)).sort((a, b) => a.addedAt - b.addedAt);

export const savePhoto = (photo: StoredPhoto) => run('readwrite', (store) => store.put(photo));
export const removePhoto = (id: string) => run('readwrite', (store) => store.delete(id));

/** Forgets a task's photos once its proof is submitted. */
export async function clearPhotos(taskId: string): Promise<void> {
  await Promise.all((await photosOf(taskId)).map((photo) => removePhoto(photo.id)));
}

/** Forgets every photo kept on this device (at sign-out). */
export const forgetAllPhotos = () => run('readwrite', (store) => store.clear());
