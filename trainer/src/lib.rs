//! tinyae trainer
