"""Operations: tasks an operator runs with the `kotopolku` command (backup and restore)."""
