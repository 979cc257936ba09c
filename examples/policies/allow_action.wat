;; Example `warden`-profile policy: allow an action only if the permit's *claims document*
;; contains the byte string `"action":"read_file"`.
;;
;; Input layout (crates/permits/src/input.rs): "WPI1", claims_len (u32 LE), claims (JSON),
;; payload_len (u32 LE), payload. Only the claims are searched: the payload is the agent's
;; intent, verbatim and attacker-chosen, so a payload containing `"action":"read_file"` must
;; not turn a permit for another action into an allow.
;;
;; Verdict: 1 = allow, 0 = deny (action not named), 2 = deny (input over 4 KiB),
;;          3 = deny (input is not a well-formed WPI1 record).
;; Telemetry (8 bytes): input length (u32 LE), offset of the match within the claims or -1.
(module
  (import "warden" "input_len" (func $input_len (result i32)))
  (import "warden" "read_input" (func $read_input (param i32 i32 i32) (result i32)))
  (import "warden" "commit_telemetry" (func $commit_telemetry (param i32 i32)))

  (memory (export "memory") 1 1)

  ;; needle at 16, magic at 48, telemetry at 64, input copied to 256 (4096 bytes fit)
  (data (i32.const 16) "\"action\":\"read_file\"")
  (data (i32.const 48) "WPI1")
  (global $needle i32 (i32.const 16))
  (global $needle_len i32 (i32.const 20))
  (global $magic i32 (i32.const 48))
  (global $telemetry i32 (i32.const 64))
  (global $buf i32 (i32.const 256))
  (global $max_len i32 (i32.const 4096))

  ;; Offset of the first occurrence of the needle in buf[start..start+len], relative to
  ;; start, or -1.
  (func $find (param $start i32) (param $len i32) (result i32)
    (local $i i32)
    (local $j i32)
    (if (i32.lt_u (local.get $len) (global.get $needle_len)) (then (return (i32.const -1))))
    (block $not_found
      (loop $outer
        (br_if $not_found
          (i32.gt_u (local.get $i) (i32.sub (local.get $len) (global.get $needle_len))))
        (local.set $j (i32.const 0))
        (block $mismatch
          (loop $inner
            (if (i32.eq (local.get $j) (global.get $needle_len))
              (then (return (local.get $i))))
            (br_if $mismatch
              (i32.ne
                (i32.load8_u
                  (i32.add (i32.add (global.get $buf) (local.get $start))
                           (i32.add (local.get $i) (local.get $j))))
                (i32.load8_u (i32.add (global.get $needle) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $inner)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (i32.const -1))

  ;; Commit telemetry (length, match offset) and return the verdict.
  (func $finish (param $len i32) (param $at i32) (param $verdict i32) (result i32)
    (i32.store (global.get $telemetry) (local.get $len))
    (i32.store offset=4 (global.get $telemetry) (local.get $at))
    (call $commit_telemetry (global.get $telemetry) (i32.const 8))
    (local.get $verdict))

  (func (export "evaluate") (result i32)
    (local $len i32)
    (local $claims_len i32)
    (local $at i32)
    (local.set $len (call $input_len))
    (if (i32.gt_u (local.get $len) (global.get $max_len))
      (then (return (call $finish (local.get $len) (i32.const -1) (i32.const 2)))))
    (drop (call $read_input (global.get $buf) (i32.const 0) (local.get $len)))
    ;; magic and claims_len present, magic right, claims inside the input
    (if (i32.lt_u (local.get $len) (i32.const 8))
      (then (return (call $finish (local.get $len) (i32.const -1) (i32.const 3)))))
    (if (i32.ne (i32.load (global.get $buf)) (i32.load (global.get $magic)))
      (then (return (call $finish (local.get $len) (i32.const -1) (i32.const 3)))))
    (local.set $claims_len (i32.load offset=4 (global.get $buf)))
    (if (i32.gt_u (local.get $claims_len) (i32.sub (local.get $len) (i32.const 8)))
      (then (return (call $finish (local.get $len) (i32.const -1) (i32.const 3)))))
    (local.set $at (call $find (i32.const 8) (local.get $claims_len)))
    (call $finish (local.get $len) (local.get $at) (i32.ge_s (local.get $at) (i32.const 0))))
)
