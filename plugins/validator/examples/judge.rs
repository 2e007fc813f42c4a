//! Judges each line of stdin with the default policy (or a config given as
//! JSON in the first argument) and prints the verdicts.
use std::io::BufRead;

fn main() {
    let cfg = std::env::args().nth(1).unwrap_or_default();
    let policy = match cluster_exec_validator::config::parse(&cfg) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("config error: {e}");
            std::process::exit(2);
        }
    };
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let line = line.replace("\\n", "\n");
        let v = cluster_exec_validator::judge(&policy, &line, None);
        println!("{:<60} => {:?}", line.replace('\n', "\\n"), v);
    }
}
