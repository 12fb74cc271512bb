/**
 * Where the kpirules service runs (`kpirules serve`, e.g. on Cloud Run).
 * `kpirules init SHEET --addon DIR` writes this file with your service's URL.
 */
var KPIRULES_SERVICE_URL = 'https://kpirules.example.run.app';
