;; Seed 003 (Aether Enclave) limit-evaluation payload, re-expressed in WAT for warden's
;; `aether` sandbox profile. Same imports, exports and behaviour as the seed's
;; `aerospace_payload::evaluate_limits`:
;;   bit 0x1  pressure below 0.15 atm   (f32 compare; NaN never alarms)
;;   bit 0x2  dose above 1000           (dose compared as unsigned, like the seed)
;; It commits a 12-byte telemetry record {flags u8, pad [3]u8, pressure_bits u32, dose u32}
;; and the seed's non-cryptographic uplink word (status + pressure_bits + dose, dose).
;; Bench injection (0.12 atm, dose 1250) yields 3.
(module
  (import "aether" "read_atmospheric_pressure" (func $pressure (result f32)))
  (import "aether" "read_radiation_dosimeter" (func $dose (result i32)))
  (import "aether" "commit_telemetry_vector" (func $commit_telemetry (param i32 i32)))
  (import "aether" "commit_uplink" (func $commit_uplink (param i32 i32)))

  (memory (export "memory") 1 1)

  ;; Where the telemetry record is assembled in guest memory.
  (global $telemetry_ptr i32 (i32.const 1024))

  (func $evaluate_limits (export "evaluate_limits") (result i32)
    (local $p f32)
    (local $d i32)
    (local $status i32)
    (local.set $p (call $pressure))
    (local.set $d (call $dose))
    (if (f32.lt (local.get $p) (f32.const 0.15))
      (then (local.set $status (i32.or (local.get $status) (i32.const 1)))))
    (if (i32.gt_u (local.get $d) (i32.const 1000))
      (then (local.set $status (i32.or (local.get $status) (i32.const 2)))))
    ;; telemetry record
    (i32.store (global.get $telemetry_ptr) (i32.and (local.get $status) (i32.const 0xff)))
    (i32.store offset=4 (global.get $telemetry_ptr) (i32.reinterpret_f32 (local.get $p)))
    (i32.store offset=8 (global.get $telemetry_ptr) (local.get $d))
    (call $commit_telemetry (global.get $telemetry_ptr) (i32.const 12))
    ;; uplink word, as in the seed (a checksum, not a proof)
    (call $commit_uplink
      (i32.add (i32.add (local.get $status) (i32.reinterpret_f32 (local.get $p))) (local.get $d))
      (local.get $d))
    (local.get $status))

  (func (export "diagnostic") (result i32) (call $evaluate_limits))
  (func (export "payload_version") (result i32) (i32.const 0xA17E0001))
)
