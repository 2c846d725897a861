// exifr's lite build (JPEG and HEIC, EXIF and GPS: what a phone photo carries) has the full build's API.
declare module 'exifr/dist/lite.esm.mjs' {
  export { default } from 'exifr';
}
