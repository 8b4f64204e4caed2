fn main() -> std::process::ExitCode {
    cctui::cli::main()
}
