fn main() {
    println!("auth0-domain-operator {}", env!("CARGO_PKG_VERSION"));
}
