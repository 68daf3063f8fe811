// Document ids: ULIDs (26 characters of Crockford base32: 48 bits of milliseconds, then 80
// random bits). They sort by creation time, and ids made within one millisecond by one
// generator still sort in the order they were made (the random part counts up).

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;

function randomDigits() {
  const bytes = new Uint8Array(RANDOM_CHARS);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b & 31);
}

/** Returns a function that makes a new ULID on each call, reading the time from `now()`. */
export function ulidGenerator(now = Date.now) {
  let lastTime = -1;
  let digits = null;
  return function ulid() {
    let time = Math.max(0, Math.floor(now()));
    if (time <= lastTime) {
      time = lastTime;
      // Count the random part up by one; if all 80 bits were set, borrow the next millisecond.
      let i = RANDOM_CHARS - 1;
      while (i >= 0 && digits[i] === 31) digits[i--] = 0;
      if (i >= 0) digits[i] += 1;
      else { time += 1; digits = randomDigits(); }
    } else {
      digits = randomDigits();
    }
    lastTime = time;
    let head = '';
    for (let i = 0, t = time; i < TIME_CHARS; i++, t = Math.floor(t / 32)) head = ALPHABET[t % 32] + head;
    return head + digits.map((d) => ALPHABET[d]).join('');
  };
}

/** A random id of `length` Crockford base32 characters (used for clientIds). */
export function randomId(length = 20) {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => ALPHABET[b & 31]).join('');
}
