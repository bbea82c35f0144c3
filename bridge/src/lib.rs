//! Deposit and withdrawal encodings, output roots and their proofs.
