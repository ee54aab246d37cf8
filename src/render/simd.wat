;; Feature-map kernels in WebAssembly SIMD: a layer's channel statistics, and its grey mosaic's
;; painting, four channels at a time, and enlargement. They compute what render/featuremaps.ts
;; computes in JavaScript, bit for bit: sums in float64 in pixel order, min and max as
;; `v < lo ? v : lo` (pmin, pmax), table entries as lutIndex gives them (trunc_sat, then clamped
;; to 0..255). The JavaScript side lays the arrays out in memory and passes their byte offsets.
(module
  (memory (export "memory") 1)

  ;; stats: over `pixels` pixels of a channels-last float32 activation at `act` with `c` channels,
  ;; in chunks of 256 pixels; min, max (f32), sum (f64), bad (i32) per channel, updated in place.
  (func (export "stats")
    (param $act i32) (param $pixels i32) (param $c i32)
    (param $min i32) (param $max i32) (param $sum i32) (param $bad i32)
    (local $start i32) (local $end i32) (local $ch i32)
    (local.set $start (i32.const 0))
    (block $done
      (loop $chunks
        (br_if $done (i32.ge_u (local.get $start) (local.get $pixels)))
        (local.set $end (i32.add (local.get $start) (i32.const 256)))
        (if (i32.gt_u (local.get $end) (local.get $pixels)) (then (local.set $end (local.get $pixels))))
        (local.set $ch (i32.const 0))
        (block $groups_done
          (loop $groups
            (br_if $groups_done (i32.gt_u (i32.add (local.get $ch) (i32.const 4)) (local.get $c)))
            (if (i32.eqz (call $four (local.get $act) (local.get $start) (local.get $end) (local.get $c)
                                     (local.get $ch) (local.get $min) (local.get $max) (local.get $sum)))
              (then
                (call $one (local.get $act) (local.get $start) (local.get $end) (local.get $c)
                           (local.get $ch) (local.get $min) (local.get $max) (local.get $sum) (local.get $bad))
                (call $one (local.get $act) (local.get $start) (local.get $end) (local.get $c)
                           (i32.add (local.get $ch) (i32.const 1)) (local.get $min) (local.get $max) (local.get $sum) (local.get $bad))
                (call $one (local.get $act) (local.get $start) (local.get $end) (local.get $c)
                           (i32.add (local.get $ch) (i32.const 2)) (local.get $min) (local.get $max) (local.get $sum) (local.get $bad))
                (call $one (local.get $act) (local.get $start) (local.get $end) (local.get $c)
                           (i32.add (local.get $ch) (i32.const 3)) (local.get $min) (local.get $max) (local.get $sum) (local.get $bad))))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $groups)))
        (block $rest_done
          (loop $rest
            (br_if $rest_done (i32.ge_u (local.get $ch) (local.get $c)))
            (call $one (local.get $act) (local.get $start) (local.get $end) (local.get $c)
                       (local.get $ch) (local.get $min) (local.get $max) (local.get $sum) (local.get $bad))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $rest)))
        (local.set $start (local.get $end))
        (br $chunks))))

  ;; Four channels from `ch` over pixels [start, end): 0 (nothing written) at a non-finite value.
  (func $four
    (param $act i32) (param $start i32) (param $end i32) (param $c i32) (param $ch i32)
    (param $min i32) (param $max i32) (param $sum i32) (result i32)
    (local $p i32) (local $step i32) (local $v v128) (local $lo v128) (local $hi v128)
    (local $s01 v128) (local $s23 v128)
    (local.set $lo (v128.load (i32.add (local.get $min) (i32.shl (local.get $ch) (i32.const 2)))))
    (local.set $hi (v128.load (i32.add (local.get $max) (i32.shl (local.get $ch) (i32.const 2)))))
    (local.set $s01 (v128.load (i32.add (local.get $sum) (i32.shl (local.get $ch) (i32.const 3)))))
    (local.set $s23 (v128.load (i32.add (local.get $sum) (i32.shl (i32.add (local.get $ch) (i32.const 2)) (i32.const 3)))))
    (local.set $step (i32.shl (local.get $c) (i32.const 2)))
    (local.set $p (i32.add (local.get $act)
      (i32.shl (i32.add (i32.mul (local.get $start) (local.get $c)) (local.get $ch)) (i32.const 2))))
    (local.set $end (i32.add (local.get $act) (i32.shl (i32.mul (local.get $end) (local.get $c)) (i32.const 2))))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (v128.load (local.get $p)))
        ;; v - v is 0 for every finite value, NaN for NaN and the infinities.
        (if (v128.any_true (f32x4.ne (f32x4.sub (local.get $v) (local.get $v)) (v128.const f32x4 0 0 0 0)))
          (then (return (i32.const 0))))
        (local.set $lo (f32x4.pmin (local.get $lo) (local.get $v)))
        (local.set $hi (f32x4.pmax (local.get $hi) (local.get $v)))
        (local.set $s01 (f64x2.add (local.get $s01) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $s23 (f64x2.add (local.get $s23) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (local.get $step)))
        (br $pixels)))
    (v128.store (i32.add (local.get $min) (i32.shl (local.get $ch) (i32.const 2))) (local.get $lo))
    (v128.store (i32.add (local.get $max) (i32.shl (local.get $ch) (i32.const 2))) (local.get $hi))
    (v128.store (i32.add (local.get $sum) (i32.shl (local.get $ch) (i32.const 3))) (local.get $s01))
    (v128.store (i32.add (local.get $sum) (i32.shl (i32.add (local.get $ch) (i32.const 2)) (i32.const 3))) (local.get $s23))
    (i32.const 1))

  ;; One channel over pixels [start, end), counting its non-finite values apart.
  (func $one
    (param $act i32) (param $start i32) (param $end i32) (param $c i32) (param $ch i32)
    (param $min i32) (param $max i32) (param $sum i32) (param $bad i32)
    (local $p i32) (local $step i32) (local $v f32) (local $lo f32) (local $hi f32) (local $s f64) (local $n i32)
    (local.set $lo (f32.load (i32.add (local.get $min) (i32.shl (local.get $ch) (i32.const 2)))))
    (local.set $hi (f32.load (i32.add (local.get $max) (i32.shl (local.get $ch) (i32.const 2)))))
    (local.set $s (f64.load (i32.add (local.get $sum) (i32.shl (local.get $ch) (i32.const 3)))))
    (local.set $step (i32.shl (local.get $c) (i32.const 2)))
    (local.set $p (i32.add (local.get $act)
      (i32.shl (i32.add (i32.mul (local.get $start) (local.get $c)) (local.get $ch)) (i32.const 2))))
    (local.set $end (i32.add (local.get $act) (i32.shl (i32.mul (local.get $end) (local.get $c)) (i32.const 2))))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (f32.load (local.get $p)))
        (if (f32.ne (f32.sub (local.get $v) (local.get $v)) (f32.const 0))
          (then (local.set $n (i32.add (local.get $n) (i32.const 1))))
          (else
            (if (f32.lt (local.get $v) (local.get $lo)) (then (local.set $lo (local.get $v))))
            (if (f32.gt (local.get $v) (local.get $hi)) (then (local.set $hi (local.get $v))))
            (local.set $s (f64.add (local.get $s) (f64.promote_f32 (local.get $v))))))
        (local.set $p (i32.add (local.get $p) (local.get $step)))
        (br $pixels)))
    (f32.store (i32.add (local.get $min) (i32.shl (local.get $ch) (i32.const 2))) (local.get $lo))
    (f32.store (i32.add (local.get $max) (i32.shl (local.get $ch) (i32.const 2))) (local.get $hi))
    (f64.store (i32.add (local.get $sum) (i32.shl (local.get $ch) (i32.const 3))) (local.get $s))
    (i32.store (i32.add (local.get $bad) (i32.shl (local.get $ch) (i32.const 2)))
      (i32.add (i32.load (i32.add (local.get $bad) (i32.shl (local.get $ch) (i32.const 2)))) (local.get $n))))

  ;; The table entry of (value - low) * inverse for one value: lutIndex, as an integer 0..255.
  (func $entry (param $v f32) (param $low f64) (param $inverse f64) (result i32)
    (local $k i32)
    (local.set $k (i32.trunc_sat_f64_s
      (f64.mul (f64.sub (f64.promote_f32 (local.get $v)) (local.get $low)) (local.get $inverse))))
    (select (i32.const 0)
      (select (i32.const 255) (local.get $k) (i32.gt_s (local.get $k) (i32.const 255)))
      (i32.lt_s (local.get $k) (i32.const 0))))

  ;; paint: one activation row (from `row`, w pixels of c channels) into n grey tiles: tile t
  ;; reads channel chan[t] scaled by low[t], inverse[t] (inverse times 256) and writes its
  ;; pixels `scale` apart from out + origin[t]. Four tiles of consecutive channels go together.
  (func (export "paintRow")
    (param $act i32) (param $row i32) (param $w i32) (param $c i32) (param $n i32)
    (param $chan i32) (param $low i32) (param $inv i32) (param $origin i32)
    (param $out i32) (param $scale i32)
    (local $t i32) (local $x i32) (local $read i32) (local $write i32) (local $step i32)
    (local $ch i32) (local $lo01 v128) (local $lo23 v128) (local $in01 v128) (local $in23 v128)
    (local $v v128) (local $k v128) (local $k23 v128) (local $o0 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32)
    (local $lo f64) (local $iv f64)
    (local.set $step (i32.shl (local.get $c) (i32.const 2)))
    (block $tiles_done
      (loop $tiles
        (br_if $tiles_done (i32.ge_u (local.get $t) (local.get $n)))
        (local.set $ch (i32.load (i32.add (local.get $chan) (i32.shl (local.get $t) (i32.const 2)))))
        (local.set $read (i32.add (local.get $act)
          (i32.shl (i32.add (local.get $row) (local.get $ch)) (i32.const 2))))
        (local.set $x (i32.const 0))
        (if (i32.and
              (i32.le_u (i32.add (local.get $t) (i32.const 4)) (local.get $n))
              (call $consecutive (local.get $chan) (local.get $t)))
          (then
            (local.set $lo01 (v128.load (i32.add (local.get $low) (i32.shl (local.get $t) (i32.const 3)))))
            (local.set $lo23 (v128.load (i32.add (local.get $low) (i32.shl (i32.add (local.get $t) (i32.const 2)) (i32.const 3)))))
            (local.set $in01 (v128.load (i32.add (local.get $inv) (i32.shl (local.get $t) (i32.const 3)))))
            (local.set $in23 (v128.load (i32.add (local.get $inv) (i32.shl (i32.add (local.get $t) (i32.const 2)) (i32.const 3)))))
            (local.set $o0 (i32.add (local.get $out) (i32.load (i32.add (local.get $origin) (i32.shl (local.get $t) (i32.const 2))))))
            (local.set $o1 (i32.add (local.get $out) (i32.load (i32.add (local.get $origin) (i32.shl (i32.add (local.get $t) (i32.const 1)) (i32.const 2))))))
            (local.set $o2 (i32.add (local.get $out) (i32.load (i32.add (local.get $origin) (i32.shl (i32.add (local.get $t) (i32.const 2)) (i32.const 2))))))
            (local.set $o3 (i32.add (local.get $out) (i32.load (i32.add (local.get $origin) (i32.shl (i32.add (local.get $t) (i32.const 3)) (i32.const 2))))))
            (block $four_done
              (loop $four
                (br_if $four_done (i32.ge_u (local.get $x) (local.get $w)))
                (local.set $v (v128.load (local.get $read)))
                (local.set $k (i32x4.trunc_sat_f64x2_s_zero
                  (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $lo01)) (local.get $in01))))
                (local.set $k23 (i32x4.trunc_sat_f64x2_s_zero
                  (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4
                    (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
                    (local.get $lo23)) (local.get $in23))))
                (local.set $k (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $k) (local.get $k23)))
                (local.set $k (i32x4.min_s (i32x4.max_s (local.get $k) (v128.const i32x4 0 0 0 0))
                                           (v128.const i32x4 255 255 255 255)))
                (local.set $write (i32.mul (local.get $x) (local.get $scale)))
                (i32.store8 (i32.add (local.get $o0) (local.get $write)) (i32x4.extract_lane 0 (local.get $k)))
                (i32.store8 (i32.add (local.get $o1) (local.get $write)) (i32x4.extract_lane 1 (local.get $k)))
                (i32.store8 (i32.add (local.get $o2) (local.get $write)) (i32x4.extract_lane 2 (local.get $k)))
                (i32.store8 (i32.add (local.get $o3) (local.get $write)) (i32x4.extract_lane 3 (local.get $k)))
                (local.set $read (i32.add (local.get $read) (local.get $step)))
                (local.set $x (i32.add (local.get $x) (i32.const 1)))
                (br $four)))
            (local.set $t (i32.add (local.get $t) (i32.const 4))))
          (else
            (local.set $lo (f64.load (i32.add (local.get $low) (i32.shl (local.get $t) (i32.const 3)))))
            (local.set $iv (f64.load (i32.add (local.get $inv) (i32.shl (local.get $t) (i32.const 3)))))
            (local.set $o0 (i32.add (local.get $out) (i32.load (i32.add (local.get $origin) (i32.shl (local.get $t) (i32.const 2))))))
            (block $one_done
              (loop $one
                (br_if $one_done (i32.ge_u (local.get $x) (local.get $w)))
                (i32.store8 (i32.add (local.get $o0) (i32.mul (local.get $x) (local.get $scale)))
                  (call $entry (f32.load (local.get $read)) (local.get $lo) (local.get $iv)))
                (local.set $read (i32.add (local.get $read) (local.get $step)))
                (local.set $x (i32.add (local.get $x) (i32.const 1)))
                (br $one)))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))))
        (br $tiles))))

  ;; Whether tiles t..t+3 read four consecutive channels.
  (func $consecutive (param $chan i32) (param $t i32) (result i32)
    (local $p i32) (local $first i32)
    (local.set $p (i32.add (local.get $chan) (i32.shl (local.get $t) (i32.const 2))))
    (local.set $first (i32.load (local.get $p)))
    (i32.and
      (i32.and
        (i32.eq (i32.load offset=4 (local.get $p)) (i32.add (local.get $first) (i32.const 1)))
        (i32.eq (i32.load offset=8 (local.get $p)) (i32.add (local.get $first) (i32.const 2))))
      (i32.eq (i32.load offset=12 (local.get $p)) (i32.add (local.get $first) (i32.const 3)))))

  ;; widen: every painted pixel of n tiles (w x h pixels each, their first bytes at out +
  ;; origin[t], rows `width` bytes apart) enlarged to scale x scale: each tile row's pixels
  ;; repeated across their run, then the row copied down over the next scale - 1 rows.
  (func (export "widen") (param $out i32) (param $origin i32) (param $n i32) (param $w i32) (param $h i32)
    (param $width i32) (param $scale i32)
    (local $t i32) (local $y i32) (local $row i32) (local $p i32) (local $end i32) (local $q i32) (local $v i32) (local $r i32)
    (local $span i32)
    (local.set $span (i32.mul (local.get $w) (local.get $scale)))
    (block $tiles_done
      (loop $tiles
        (br_if $tiles_done (i32.ge_u (local.get $t) (local.get $n)))
        (local.set $y (i32.const 0))
        (block $rows_done
          (loop $rows
            (br_if $rows_done (i32.ge_u (local.get $y) (local.get $h)))
            (local.set $row (i32.add (i32.add (local.get $out)
              (i32.load (i32.add (local.get $origin) (i32.shl (local.get $t) (i32.const 2)))))
              (i32.mul (i32.mul (local.get $y) (local.get $scale)) (local.get $width))))
            (local.set $p (local.get $row))
            (local.set $end (i32.add (local.get $row) (local.get $span)))
            (block $pixels_done
              (loop $pixels
                (br_if $pixels_done (i32.ge_u (local.get $p) (local.get $end)))
                (local.set $v (i32.load8_u (local.get $p)))
                (local.set $q (i32.const 1))
                (block $run_done
                  (loop $run
                    (br_if $run_done (i32.ge_u (local.get $q) (local.get $scale)))
                    (i32.store8 (i32.add (local.get $p) (local.get $q)) (local.get $v))
                    (local.set $q (i32.add (local.get $q) (i32.const 1)))
                    (br $run)))
                (local.set $p (i32.add (local.get $p) (local.get $scale)))
                (br $pixels)))
            (local.set $r (i32.const 1))
            (block $copies_done
              (loop $copies
                (br_if $copies_done (i32.ge_u (local.get $r) (local.get $scale)))
                (memory.copy (i32.add (local.get $row) (i32.mul (local.get $r) (local.get $width)))
                  (local.get $row) (local.get $span))
                (local.set $r (i32.add (local.get $r) (i32.const 1)))
                (br $copies)))
            (local.set $y (i32.add (local.get $y) (i32.const 1)))
            (br $rows)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tiles)))))
