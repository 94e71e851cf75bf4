rl_add_suite(cli test_cli.c)
