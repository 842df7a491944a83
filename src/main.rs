//! podinit: PID 1 for containers. The work is in the library (`lib.rs`
//! lists the modules and where each behaviour lives); the binary only calls it.

fn main() {
    podinit::main()
}
