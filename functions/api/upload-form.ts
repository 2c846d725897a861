/**
 * Reading a proof upload (multipart/form-data) as it streams in: the file's bytes end up in one
 * buffer, once. Request.formData() would hold the body, then a File copied from it, then that
 * file's bytes again: three copies of up to 10 MB in a worker of 256 MB.
 */
import {
  MaxFileSizeExceededError, MaxPartsExceededError, MaxTotalSizeExceededError, MultipartParseError, parseMultipartRequest,
} from '@remix-run/multipart-parser';
import { ApiError, badRequest } from '../_shared/errors.ts';

/** The form's fields: `file` (its bytes) and `task_id` (text); others are ignored. */
export interface UploadForm {
  file: Uint8Array | null;
  /** The task_id field as sent; `invalid` when it came as a file. */
  taskId: string | null | { invalid: true };
}

/** A form has a file, a task id and little else. */
const MAX_PARTS = 8;

const invalidForm = () => badRequest('invalid_form', 'Send multipart/form-data with a "file" part (and, better, a "task_id" field)');

/** Parses the upload; a file over `maxBytes` is a 413 `file_too_large` (`tooLarge` says why). */
export async function readUploadForm(request: Request, maxBytes: number, tooLarge: string): Promise<UploadForm> {
  const form: UploadForm = { file: null, taskId: null };
  try {
    for await (const part of parseMultipartRequest(request, { maxFileSize: maxBytes, maxParts: MAX_PARTS, maxTotalSize: maxBytes + 64 * 1024 })) {
      if (part.name === 'file' && part.isFile && form.file === null) form.file = part.bytes;
      else if (part.name === 'task_id' && form.taskId === null) form.taskId = part.isFile ? { invalid: true } : part.text;
    }
  } catch (error) {
    if (error instanceof MaxFileSizeExceededError || error instanceof MaxTotalSizeExceededError) throw new ApiError(413, 'file_too_large', tooLarge);
    if (error instanceof MaxPartsExceededError) throw badRequest('invalid_form', `Send at most ${MAX_PARTS} form fields: "file" and "task_id"`);
    if (error instanceof MultipartParseError || error instanceof TypeError) throw invalidForm();
    throw error;
  }
  return form;
}
