// The API's contract lives in the SDK package (one source for the server and its clients).
export * from '../../sdk/src/contract/schemas.ts';
