;; A grey PNG's image data, driven by output/deflate.ts: its rows Paeth-filtered (`paeth`, what
;; render/scanlines.ts computes in JavaScript, bit for bit), then deflated (RFC 1951) in blocks.
;; A block is a sequence of tokens, each a literal byte or a run: 3 to 258 bytes equal to the
;; byte before them, a match at distance 1 (the tokens of zlib's Z_RLE strategy). `tokenize`
;; finds a block's tokens and counts their symbols; `emit` writes the tokens in the Huffman
;; codes the JavaScript side built from those counts; `adler32` sums the stream. Bits go out
;; least significant first through a 64-bit accumulator that holds fewer than eight between
;; calls: each write stores the whole accumulator and moves on by the bytes it completed,
;; without a branch on how many that was.
(module
  (memory (export "memory") 1)
  (global $acc (mut i64) (i64.const 0))
  (global $nbits (mut i32) (i32.const 0))
  (global $pos (mut i32) (i32.const 0))

  ;; How many bytes from `p` equal `b`, up to `limit`: sixteen at a time while they can be,
  ;; then one at a time.
  (func $run (param $p i32) (param $limit i32) (param $b i32) (result i32)
    (local $n i32) (local $same i32) (local $pattern v128)
    (local.set $pattern (i8x16.splat (local.get $b)))
    (block $bytes_done
      (block $vectors_done
        (loop $vectors
          (br_if $vectors_done (i32.gt_u (i32.add (local.get $n) (i32.const 16)) (local.get $limit)))
          (local.set $same (i8x16.bitmask (i8x16.eq (v128.load (i32.add (local.get $p) (local.get $n))) (local.get $pattern))))
          (if (i32.ne (local.get $same) (i32.const 0xffff))
            (then
              ;; The first byte that differs ends the run.
              (local.set $n (i32.add (local.get $n) (i32.ctz (i32.xor (local.get $same) (i32.const 0xffff)))))
              (br $bytes_done)))
          (local.set $n (i32.add (local.get $n) (i32.const 16)))
          (br $vectors)))
      (loop $bytes
        (br_if $bytes_done (i32.ge_u (local.get $n) (local.get $limit)))
        (br_if $bytes_done (i32.ne (i32.load8_u (i32.add (local.get $p) (local.get $n))) (local.get $b)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $bytes)))
    (local.get $n))

  ;; tokenize: the tokens of bytes [start, end) of `src` as u16 at `tokens` (a literal as its
  ;; byte, a run of n bytes as 256 + n); returns their count. Counts each token's symbol in
  ;; `hist`: four tables of 288 u32 (literals 0-255, end of block 256, run lengths 257-285, as
  ;; `lenSym` (259 u32) gives a run's symbol), a literal in the table of its byte's place in a
  ;; 16-byte chunk modulo 4 (a counter updated every cycle stalls on its own store), a run in the
  ;; first. A run starts at a byte that equals the one before it and the next two do too (the
  ;; byte before a run is always the one it repeats, whether a literal or a run's last). Sixteen
  ;; bytes are tested at once: up to the first run start they are literals.
  (func (export "tokenize")
    (param $src i32) (param $start i32) (param $end i32) (param $lenSym i32) (param $hist i32)
    (param $tokens i32) (result i32)
    (local $p i32) (local $stop i32) (local $out i32) (local $k i32) (local $j i32) (local $n i32)
    (local $slot i32) (local $cur v128) (local $before v128)
    (local.set $p (i32.add (local.get $src) (local.get $start)))
    (local.set $stop (i32.add (local.get $src) (local.get $end)))
    (local.set $out (local.get $tokens))
    ;; The stream's first byte has none before it: a literal.
    (if (i32.and (i32.eqz (local.get $start)) (i32.lt_u (local.get $p) (local.get $stop)))
      (then
        (local.set $n (i32.load8_u (local.get $p)))
        (i32.store16 (local.get $out) (local.get $n))
        (local.set $slot (i32.add (local.get $hist) (i32.shl (local.get $n) (i32.const 2))))
        (i32.store (local.get $slot) (i32.add (i32.load (local.get $slot)) (i32.const 1)))
        (local.set $out (i32.add (local.get $out) (i32.const 2)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))))
    (block $done
      (loop $chunks
        (br_if $done (i32.ge_u (local.get $p) (local.get $stop)))
        (if (i32.le_u (i32.add (local.get $p) (i32.const 18)) (local.get $stop))
          (then
            (local.set $cur (v128.load (local.get $p)))
            (local.set $before (v128.load (i32.sub (local.get $p) (i32.const 1))))
            ;; k: the first run start among the 16, or 16 for none.
            (local.set $k (i32.ctz (i32.or (i32.const 0x10000) (i8x16.bitmask
              (v128.and (i8x16.eq (local.get $cur) (local.get $before))
                (v128.and
                  (i8x16.eq (v128.load (i32.add (local.get $p) (i32.const 1))) (local.get $before))
                  (i8x16.eq (v128.load (i32.add (local.get $p) (i32.const 2))) (local.get $before))))))))
            ;; All sixteen as literal tokens; the next token overwrites those past k.
            (v128.store (local.get $out) (i16x8.extend_low_i8x16_u (local.get $cur)))
            (v128.store (i32.add (local.get $out) (i32.const 16)) (i16x8.extend_high_i8x16_u (local.get $cur)))
            (local.set $j (i32.const 0))
            (block $literals_done
              (loop $literals
                (br_if $literals_done (i32.ge_u (local.get $j) (local.get $k)))
                (local.set $slot (i32.add (i32.add (local.get $hist) (i32.mul (i32.and (local.get $j) (i32.const 3)) (i32.const 1152)))
                  (i32.shl (i32.load8_u (i32.add (local.get $p) (local.get $j))) (i32.const 2))))
                (i32.store (local.get $slot) (i32.add (i32.load (local.get $slot)) (i32.const 1)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $literals)))
            (local.set $p (i32.add (local.get $p) (local.get $k)))
            (local.set $out (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 1))))
            (br_if $chunks (i32.eq (local.get $k) (i32.const 16))))
          (else
            ;; The block's last bytes, one at a time.
            (local.set $n (i32.load8_u (local.get $p)))
            (if (i32.or
                  (i32.or (i32.ne (local.get $n) (i32.load8_u (i32.sub (local.get $p) (i32.const 1))))
                    (i32.gt_u (i32.add (local.get $p) (i32.const 3)) (local.get $stop)))
                  (i32.and (i32.const 0xffffff)
                    (i32.xor (i32.load (local.get $p)) (i32.mul (local.get $n) (i32.const 0x01010101)))))
              (then
                (i32.store16 (local.get $out) (local.get $n))
                (local.set $slot (i32.add (local.get $hist) (i32.shl (local.get $n) (i32.const 2))))
                (i32.store (local.get $slot) (i32.add (i32.load (local.get $slot)) (i32.const 1)))
                (local.set $out (i32.add (local.get $out) (i32.const 2)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $chunks)))))
        ;; A run at p.
        (local.set $n (i32.sub (local.get $stop) (local.get $p)))
        (if (i32.gt_u (local.get $n) (i32.const 258)) (then (local.set $n (i32.const 258))))
        (local.set $n (call $run (local.get $p) (local.get $n) (i32.load8_u (local.get $p))))
        (i32.store16 (local.get $out) (i32.add (local.get $n) (i32.const 256)))
        (local.set $slot (i32.add (local.get $hist)
          (i32.shl (i32.load (i32.add (local.get $lenSym) (i32.shl (local.get $n) (i32.const 2)))) (i32.const 2))))
        (i32.store (local.get $slot) (i32.add (i32.load (local.get $slot)) (i32.const 1)))
        (local.set $out (i32.add (local.get $out) (i32.const 2)))
        (local.set $p (i32.add (local.get $p) (local.get $n)))
        (br $chunks)))
    (i32.shr_u (i32.sub (local.get $out) (local.get $tokens)) (i32.const 1)))

  ;; adler32: the Adler-32 of `len` bytes at `src` (RFC 1950). Sixteen bytes at a time: s1
  ;; gains their sum, s2 sixteen times s1 before them plus their sum weighted 16 down to 1. The
  ;; lanes hold the sums of up to 1024 chunks; the totals are taken in 64 bits and reduced.
  (func (export "adler32") (param $src i32) (param $len i32) (result i32)
    (local $p i32) (local $stop i32) (local $group i32) (local $chunks i64)
    (local $s1 i64) (local $s2 i64) (local $v v128) (local $vs1 v128) (local $vps v128) (local $vs2 v128)
    (local.set $s1 (i64.const 1))
    (local.set $p (local.get $src))
    (local.set $stop (i32.add (local.get $src) (i32.and (local.get $len) (i32.const -16))))
    (block $groups_done
      (loop $groups
        (br_if $groups_done (i32.ge_u (local.get $p) (local.get $stop)))
        (local.set $group (i32.add (local.get $p) (i32.const 16384)))
        (if (i32.gt_u (local.get $group) (local.get $stop)) (then (local.set $group (local.get $stop))))
        (local.set $chunks (i64.extend_i32_u (i32.shr_u (i32.sub (local.get $group) (local.get $p)) (i32.const 4))))
        (local.set $vs1 (v128.const i32x4 0 0 0 0))
        (local.set $vps (v128.const i32x4 0 0 0 0))
        (local.set $vs2 (v128.const i32x4 0 0 0 0))
        (loop $chunk
          (local.set $v (v128.load (local.get $p)))
          (local.set $vps (i32x4.add (local.get $vps) (local.get $vs1)))
          (local.set $vs1 (i32x4.add (local.get $vs1)
            (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $v)))))
          (local.set $vs2 (i32x4.add (local.get $vs2)
            (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $v)) (v128.const i16x8 16 15 14 13 12 11 10 9))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $v)) (v128.const i16x8 8 7 6 5 4 3 2 1)))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br_if $chunk (i32.lt_u (local.get $p) (local.get $group))))
        (local.set $s2 (i64.add (local.get $s2)
          (i64.add (i64.mul (i64.mul (local.get $chunks) (i64.const 16)) (local.get $s1))
            (i64.add (i64.shl (call $sum (local.get $vps)) (i64.const 4)) (call $sum (local.get $vs2))))))
        (local.set $s1 (i64.rem_u (i64.add (local.get $s1) (call $sum (local.get $vs1))) (i64.const 65521)))
        (local.set $s2 (i64.rem_u (local.get $s2) (i64.const 65521)))
        (br $groups)))
    ;; The last bytes one at a time.
    (local.set $stop (i32.add (local.get $src) (local.get $len)))
    (block $bytes_done
      (loop $bytes
        (br_if $bytes_done (i32.ge_u (local.get $p) (local.get $stop)))
        (local.set $s1 (i64.add (local.get $s1) (i64.load8_u (local.get $p))))
        (local.set $s2 (i64.add (local.get $s2) (local.get $s1)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $bytes)))
    (i32.wrap_i64 (i64.or
      (i64.shl (i64.rem_u (local.get $s2) (i64.const 65521)) (i64.const 16))
      (i64.rem_u (local.get $s1) (i64.const 65521)))))

  ;; The sum of an i32x4's lanes (each non-negative), in 64 bits.
  (func $sum (param $v v128) (result i64)
    (i64.add
      (i64.add (i64.extend_i32_u (i32x4.extract_lane 0 (local.get $v))) (i64.extend_i32_u (i32x4.extract_lane 1 (local.get $v))))
      (i64.add (i64.extend_i32_u (i32x4.extract_lane 2 (local.get $v))) (i64.extend_i32_u (i32x4.extract_lane 3 (local.get $v))))))

  ;; paeth: a grey image's PNG scanlines with the Paeth filter (type 4) on every row. The image
  ;; (w x h bytes at `src`) has 16 bytes to spare before and after it, `zero` points to w zero
  ;; bytes with 16 to spare on each side (the row above the first), and `out` receives h rows
  ;; of 1 + w bytes and 16 to spare (a row's last vector may run into the next row, which then
  ;; overwrites it). Sixteen pixels at a time, on 16-bit lanes: the neighbours a (left), b (up)
  ;; and c (up-left) predict as the PNG specification's PaethPredictor picks them, ties to a,
  ;; then b; the first pixel of a row has no a or c (lane 0 of the first vector is cleared).
  (func (export "paeth") (param $src i32) (param $w i32) (param $h i32) (param $zero i32) (param $out i32)
    (local $y i32) (local $x i32) (local $cur i32) (local $prev i32) (local $row i32)
    (local $a v128) (local $b v128) (local $c v128)
    (local $la v128) (local $lb v128) (local $lc v128) (local $ha v128) (local $hb v128) (local $hc v128)
    (local $da v128) (local $db v128) (local $pa v128) (local $pb v128) (local $pc v128)
    (local $pickA v128) (local $pickB v128) (local $hpickA v128) (local $hpickB v128)
    (local.set $prev (local.get $zero))
    (local.set $cur (local.get $src))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $h)))
        (local.set $row (i32.add (local.get $out) (i32.mul (local.get $y) (i32.add (local.get $w) (i32.const 1)))))
        (i32.store8 (local.get $row) (i32.const 4))
        (local.set $x (i32.const 0))
        (block $pixels_done
          (loop $pixels
            (br_if $pixels_done (i32.ge_u (local.get $x) (local.get $w)))
            (local.set $a (v128.load (i32.sub (i32.add (local.get $cur) (local.get $x)) (i32.const 1))))
            (local.set $b (v128.load (i32.add (local.get $prev) (local.get $x))))
            (local.set $c (v128.load (i32.sub (i32.add (local.get $prev) (local.get $x)) (i32.const 1))))
            (if (i32.eqz (local.get $x))
              (then
                (local.set $a (i8x16.replace_lane 0 (local.get $a) (i32.const 0)))
                (local.set $c (i8x16.replace_lane 0 (local.get $c) (i32.const 0)))))
            ;; Low eight lanes: pa = |b - c|, pb = |a - c|, pc = |a + b - 2c|.
            (local.set $la (i16x8.extend_low_i8x16_u (local.get $a)))
            (local.set $lb (i16x8.extend_low_i8x16_u (local.get $b)))
            (local.set $lc (i16x8.extend_low_i8x16_u (local.get $c)))
            (local.set $da (i16x8.sub (local.get $lb) (local.get $lc)))
            (local.set $db (i16x8.sub (local.get $la) (local.get $lc)))
            (local.set $pa (i16x8.abs (local.get $da)))
            (local.set $pb (i16x8.abs (local.get $db)))
            (local.set $pc (i16x8.abs (i16x8.add (local.get $da) (local.get $db))))
            (local.set $pickA (v128.and (i16x8.le_s (local.get $pa) (local.get $pb)) (i16x8.le_s (local.get $pa) (local.get $pc))))
            (local.set $pickB (i16x8.le_s (local.get $pb) (local.get $pc)))
            ;; High eight lanes, the same.
            (local.set $ha (i16x8.extend_high_i8x16_u (local.get $a)))
            (local.set $hb (i16x8.extend_high_i8x16_u (local.get $b)))
            (local.set $hc (i16x8.extend_high_i8x16_u (local.get $c)))
            (local.set $da (i16x8.sub (local.get $hb) (local.get $hc)))
            (local.set $db (i16x8.sub (local.get $ha) (local.get $hc)))
            (local.set $pa (i16x8.abs (local.get $da)))
            (local.set $pb (i16x8.abs (local.get $db)))
            (local.set $pc (i16x8.abs (i16x8.add (local.get $da) (local.get $db))))
            (local.set $hpickA (v128.and (i16x8.le_s (local.get $pa) (local.get $pb)) (i16x8.le_s (local.get $pa) (local.get $pc))))
            (local.set $hpickB (i16x8.le_s (local.get $pb) (local.get $pc)))
            ;; The masks narrowed to bytes (0 and -1 stay themselves); the prediction subtracted.
            (v128.store (i32.add (i32.add (local.get $row) (i32.const 1)) (local.get $x))
              (i8x16.sub (v128.load (i32.add (local.get $cur) (local.get $x)))
                (v128.bitselect (local.get $a)
                  (v128.bitselect (local.get $b) (local.get $c)
                    (i8x16.narrow_i16x8_s (local.get $pickB) (local.get $hpickB)))
                  (i8x16.narrow_i16x8_s (local.get $pickA) (local.get $hpickA)))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (br $pixels)))
        (local.set $prev (local.get $cur))
        (local.set $cur (i32.add (local.get $cur) (local.get $w)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows))))

  ;; begin: the bit writer starts empty at `out`.
  (func (export "begin") (param $out i32)
    (global.set $pos (local.get $out))
    (global.set $acc (i64.const 0))
    (global.set $nbits (i32.const 0)))

  ;; put: the low `n` bits of `bits` (n at most 32).
  (func $put (export "put") (param $bits i32) (param $n i32)
    (local $bytes i32)
    (global.set $acc (i64.or (global.get $acc)
      (i64.shl (i64.extend_i32_u (local.get $bits)) (i64.extend_i32_u (global.get $nbits)))))
    (global.set $nbits (i32.add (global.get $nbits) (local.get $n)))
    (i64.store (global.get $pos) (global.get $acc))
    (local.set $bytes (i32.shr_u (global.get $nbits) (i32.const 3)))
    (global.set $pos (i32.add (global.get $pos) (local.get $bytes)))
    (global.set $acc (i64.shr_u (global.get $acc) (i64.extend_i32_u (i32.shl (local.get $bytes) (i32.const 3)))))
    (global.set $nbits (i32.and (global.get $nbits) (i32.const 7))))

;; putAll: `count` pairs of u32 at `list`, each the bits and their count for put.
  (func (export "putAll") (param $list i32) (param $count i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $list) (i32.shl (local.get $count) (i32.const 3))))
    (block $done
      (loop $pairs
        (br_if $done (i32.ge_u (local.get $list) (local.get $end)))
        (call $put (i32.load (local.get $list)) (i32.load (i32.add (local.get $list) (i32.const 4))))
        (local.set $list (i32.add (local.get $list) (i32.const 8)))
        (br $pairs))))

    ;; The bits so far out to a whole byte, padded with zeros.
  (func $flush
    (if (global.get $nbits)
      (then
        (i32.store8 (global.get $pos) (i32.wrap_i64 (global.get $acc)))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))))
    (global.set $acc (i64.const 0))
    (global.set $nbits (i32.const 0)))

  ;; emit: `count` tokens from `tokens`, then the end of block. `codes` holds 515 u32, each a
  ;; code's bits (reversed, as deflate sends them) in its low 24 bits and their count in the
  ;; high 8: literals at 0-255, the end of block at 256, a run of n bytes at 256 + n (its length
  ;; symbol, extra bits and distance code together, at most 21 bits). Two tokens go in between
  ;; writes: 7 + 21 + 21 bits fit the accumulator.
  (func (export "emit") (param $tokens i32) (param $count i32) (param $codes i32)
    (local $t i32) (local $stop i32) (local $entry i32) (local $bytes i32)
    (local $acc i64) (local $nbits i32) (local $pos i32)
    (local.set $acc (global.get $acc))
    (local.set $nbits (global.get $nbits))
    (local.set $pos (global.get $pos))
    (local.set $t (local.get $tokens))
    (local.set $stop (i32.add (local.get $tokens) (i32.shl (local.get $count) (i32.const 1))))
    ;; An odd token first, then pairs.
    (if (i32.and (local.get $count) (i32.const 1))
      (then
        (local.set $entry (i32.load (i32.add (local.get $codes) (i32.shl (i32.load16_u (local.get $t)) (i32.const 2)))))
        (local.set $acc (i64.or (local.get $acc)
          (i64.shl (i64.extend_i32_u (i32.and (local.get $entry) (i32.const 0xffffff))) (i64.extend_i32_u (local.get $nbits)))))
        (local.set $nbits (i32.add (local.get $nbits) (i32.shr_u (local.get $entry) (i32.const 24))))
        (i64.store (local.get $pos) (local.get $acc))
        (local.set $bytes (i32.shr_u (local.get $nbits) (i32.const 3)))
        (local.set $pos (i32.add (local.get $pos) (local.get $bytes)))
        (local.set $acc (i64.shr_u (local.get $acc) (i64.extend_i32_u (i32.shl (local.get $bytes) (i32.const 3)))))
        (local.set $nbits (i32.and (local.get $nbits) (i32.const 7)))
        (local.set $t (i32.add (local.get $t) (i32.const 2)))))
    (block $done
      (loop $pairs
        (br_if $done (i32.ge_u (local.get $t) (local.get $stop)))
        (local.set $entry (i32.load (i32.add (local.get $codes) (i32.shl (i32.load16_u (local.get $t)) (i32.const 2)))))
        (local.set $acc (i64.or (local.get $acc)
          (i64.shl (i64.extend_i32_u (i32.and (local.get $entry) (i32.const 0xffffff))) (i64.extend_i32_u (local.get $nbits)))))
        (local.set $nbits (i32.add (local.get $nbits) (i32.shr_u (local.get $entry) (i32.const 24))))
        (local.set $entry (i32.load (i32.add (local.get $codes)
          (i32.shl (i32.load16_u (i32.add (local.get $t) (i32.const 2))) (i32.const 2)))))
        (local.set $acc (i64.or (local.get $acc)
          (i64.shl (i64.extend_i32_u (i32.and (local.get $entry) (i32.const 0xffffff))) (i64.extend_i32_u (local.get $nbits)))))
        (local.set $nbits (i32.add (local.get $nbits) (i32.shr_u (local.get $entry) (i32.const 24))))
        (i64.store (local.get $pos) (local.get $acc))
        (local.set $bytes (i32.shr_u (local.get $nbits) (i32.const 3)))
        (local.set $pos (i32.add (local.get $pos) (local.get $bytes)))
        (local.set $acc (i64.shr_u (local.get $acc) (i64.extend_i32_u (i32.shl (local.get $bytes) (i32.const 3)))))
        (local.set $nbits (i32.and (local.get $nbits) (i32.const 7)))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (br $pairs)))
    (global.set $acc (local.get $acc))
    (global.set $nbits (local.get $nbits))
    (global.set $pos (local.get $pos))
    ;; The end of block.
    (local.set $entry (i32.load (i32.add (local.get $codes) (i32.const 1024))))
    (call $put (i32.and (local.get $entry) (i32.const 0xffffff)) (i32.shr_u (local.get $entry) (i32.const 24))))

  ;; stored: bytes [start, start + len) of `src` as they are (len at most 65535), after the
  ;; block's three header bits: padding to a byte, the length and its complement, the bytes.
  (func (export "stored") (param $src i32) (param $start i32) (param $len i32)
    (call $flush)
    (i32.store16 (global.get $pos) (local.get $len))
    (i32.store16 (i32.add (global.get $pos) (i32.const 2)) (i32.xor (local.get $len) (i32.const 0xffff)))
    (memory.copy (i32.add (global.get $pos) (i32.const 4)) (i32.add (local.get $src) (local.get $start)) (local.get $len))
    (global.set $pos (i32.add (global.get $pos) (i32.add (local.get $len) (i32.const 4)))))

  ;; finish: the last bits out; returns where the stream ends.
  (func (export "finish") (result i32)
    (call $flush)
    (global.get $pos)))
