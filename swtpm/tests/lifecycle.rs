//! The swtpm helper against the real emulator: instances answer, are private, and go away.

use std::path::Path;

use swtpm::Swtpm;

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn started_instance_answers_and_names_its_tcti() {
    if !prerequisites::swtpm("swtpm::started_instance_answers_and_names_its_tcti") {
        return;
    }
    let tpm = Swtpm::start().expect("swtpm starts");
    assert_eq!(tpm.ctrl_port(), tpm.port() + 1);
    assert_eq!(
        tpm.tcti(),
        format!("swtpm:host=127.0.0.1,port={}", tpm.port())
    );
    assert!(tpm.state_dir().is_dir());
    assert!(process_exists(tpm.pid()));
}

#[test]
fn drop_kills_the_process_and_removes_the_state() {
    if !prerequisites::swtpm("swtpm::drop_kills_the_process_and_removes_the_state") {
        return;
    }
    let tpm = Swtpm::start().expect("swtpm starts");
    let pid = tpm.pid();
    let dir = tpm.state_dir().to_path_buf();
    drop(tpm);
    assert!(!process_exists(pid), "swtpm {pid} still running after drop");
    assert!(!dir.exists());
}

#[test]
fn drop_runs_when_a_test_panics() {
    if !prerequisites::swtpm("swtpm::drop_runs_when_a_test_panics") {
        return;
    }
    let pid = std::sync::Arc::new(std::sync::Mutex::new(0u32));
    let seen = pid.clone();
    let outcome = std::panic::catch_unwind(move || {
        let tpm = Swtpm::start().expect("swtpm starts");
        *seen.lock().unwrap() = tpm.pid();
        panic!("a failing test");
    });
    assert!(outcome.is_err());
    let pid = *pid.lock().unwrap();
    assert_ne!(pid, 0);
    assert!(!process_exists(pid), "swtpm {pid} survived the panic");
}

#[test]
fn parallel_instances_get_distinct_ports() {
    if !prerequisites::swtpm("swtpm::parallel_instances_get_distinct_ports") {
        return;
    }
    let handles: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| Swtpm::start().expect("swtpm starts")))
        .collect();
    let tpms: Vec<Swtpm> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut ports: Vec<u16> = tpms
        .iter()
        .flat_map(|t| [t.port(), t.ctrl_port()])
        .collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 8);
}

#[test]
fn missing_binary_is_a_clear_error() {
    let err = Swtpm::start_with_program("/nonexistent/swtpm").unwrap_err();
    assert!(err.to_string().contains("is swtpm installed"), "{err}");
}
